"""Who must use two-factor authentication, and what a signed-in session still lacks."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest
from django.utils.module_loading import import_string
from django_otp.plugins.otp_totp.models import TOTPDevice

from ecrf.access import Role

SUPERUSER = "superuser"
# Set at sign-in when the user has a confirmed device: the session must then be verified.
VERIFY_SESSION_KEY = "two_factor_verify"


class Step:
    VERIFY = "verify"
    SETUP = "setup"


def check_required_roles_setting() -> None:
    """Stop start-up when the setting names something that is not a role."""
    unknown = set(settings.TWO_FACTOR_REQUIRED_ROLES) - {*Role.values, SUPERUSER}
    if unknown:
        raise ImproperlyConfigured(
            f"TWO_FACTOR_REQUIRED_ROLES names unknown roles {sorted(unknown)}; use role codes "
            f"({', '.join(Role.values)}), {SUPERUSER}, or none."
        )


def two_factor_required(user: Any) -> bool:
    """Whether this deployment requires a second factor of `user`, by their roles."""
    required = set(settings.TWO_FACTOR_REQUIRED_ROLES)
    if not required or user is None or not user.is_authenticated:
        return False
    if user.is_superuser and SUPERUSER in required:
        return True
    roles = required - {SUPERUSER}
    # Roles are held by memberships, which belong to trials, above accounts: ask the function
    # the settings name rather than read trials' rows from here.
    holds_role = import_string(settings.TWO_FACTOR_ROLE_CHECK)
    return bool(roles) and holds_role(user, roles)


def has_authenticator(user: Any) -> bool:
    """Whether `user` has a confirmed authenticator app (recovery codes alone do not count)."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def session_verified(user: Any) -> bool:
    """Whether the session of `user` was verified with a code (False for token requests)."""
    is_verified = getattr(user, "is_verified", None)
    return bool(is_verified is not None and is_verified())


def missing_step(request: HttpRequest) -> str | None:
    """What the signed-in session must do before anything else: verify, set up, or nothing."""
    user = request.user
    if not user.is_authenticated or session_verified(user):
        return None
    if request.session.get(VERIFY_SESSION_KEY):
        return Step.VERIFY
    if two_factor_required(user):
        return Step.VERIFY if has_authenticator(user) else Step.SETUP
    return None


def remember_device_at_sign_in(request: HttpRequest, user: Any) -> None:
    """At sign-in, note whether this session must be verified (the user has a device)."""
    session = getattr(request, "session", None)
    if session is None:
        return
    if has_authenticator(user):
        session[VERIFY_SESSION_KEY] = True
    else:
        session.pop(VERIFY_SESSION_KEY, None)
