"""Writes for accounts: API tokens, ending an account's access, two-factor devices, language
preference, invitations, the system actor."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.signals import user_login_failed
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _
from django_otp import verify_token
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import ApiToken, User, hash_token, new_security_stamp
from accounts.two_factor import two_factor_required
from ecrf.audit import audited_save
from ecrf.errors import DomainError, NotFoundError, PermissionDeniedError

SYSTEM_USERNAME = "system"
RECOVERY_CODE_COUNT = 10


def system_actor() -> User:
    """The account that jobs and commands act as, so every change still names an actor."""
    user, created = User.objects.get_or_create(
        username=SYSTEM_USERNAME,
        defaults={"is_system": True, "is_active": False, "printed_name": "System job"},
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


def record_sign_in(sender: Any, user: Any, **_: Any) -> None:
    """Note the time of a sign-in without writing a version of the account."""
    now = timezone.now()
    User.objects.filter(pk=user.pk).update(last_login=now)
    user.last_login = now


def password_reconfirm(*, user: Any, password: str, request: HttpRequest | None) -> None:
    """Check a password entered again; a wrong one counts towards the account lockout, and a
    locked-out account is refused even with the right one."""
    # The lockout counts failures per request; outside a web request (a shell) the failures
    # still count, against the same account.
    if authenticate(request or HttpRequest(), username=user.get_username(), password=password):
        return
    raise DomainError(
        _("The password is not correct."), fields={"password": [_("The password is not correct.")]}
    )


# API tokens ---------------------------------------------------------------------------------


def token_create(
    *,
    user: Any,
    name: str,
    password: str,
    now: datetime,
    request: HttpRequest | None = None,
    expires_in_days: int | None = None,
) -> tuple[ApiToken, str]:
    """Create a token after the owner enters their password again; return it with its key,
    which is shown once and never stored. It expires after `expires_in_days` (at most, and by
    default, `API_TOKEN_DAYS`)."""
    name = name.strip()
    if not name:
        raise DomainError(_("Give the token a name."), fields={"name": [_("Required.")]})
    longest = settings.API_TOKEN_DAYS
    days = longest if expires_in_days is None else expires_in_days
    if not 1 <= days <= longest:
        message = _("A token lasts from 1 to %(days)s days.") % {"days": longest}
        raise DomainError(message, fields={"expires_in_days": [message]})
    # Checked after the other fields, so that a form mistake never counts as a failed sign-in.
    password_reconfirm(user=user, password=password, request=request)
    key = secrets.token_urlsafe(32)
    token = ApiToken(
        user=user,
        name=name[:100],
        prefix=key[:8],
        key_hash=hash_token(key),
        created_at=now,
        expires_at=now + timedelta(days=days),
    )
    with transaction.atomic():
        audited_save(token, actor=user)
    return token, key


def token_revoke(
    *,
    user: Any,
    token_id: int,
    now: datetime,
    reason: str = "Revoked by its owner",
    actor: Any = None,
) -> ApiToken:
    """Revoke one of `user`'s tokens for good: by its owner, or by `actor` (a platform
    operator) when given."""
    with transaction.atomic():
        token = ApiToken.objects.select_for_update().filter(pk=token_id, user=user).first()
        if token is None:
            raise NotFoundError(_("No such token."))
        if token.revoked_at is None:
            token.revoked_at = now
            audited_save(token, actor=actor or user, reason=reason, update_fields=["revoked_at"])
        return token


# Ending an account's access -----------------------------------------------------------------


def user_end_access(*, user: Any, now: datetime, reason: str, actor: Any = None) -> int:
    """End every session of `user` (at its next request) and revoke every token they hold.

    `actor` is who ended it, the system account when none is given (an automatic lockout).
    Returns the number of tokens revoked.
    """
    actor = actor or system_actor()
    stamp = new_security_stamp()
    with transaction.atomic():
        # A plain update: a lockout repeats this at every refused attempt, and the stamp itself
        # is no part of anyone's record.
        User.objects.filter(pk=user.pk).update(security_stamp=stamp)
        tokens = list(
            ApiToken.objects.select_for_update().filter(user_id=user.pk, revoked_at__isnull=True)
        )
        for token in tokens:
            token.revoked_at = now
            audited_save(token, actor=actor, reason=reason, update_fields=["revoked_at"])
    # A caller saving its copy of the user later must not bring the old stamp back.
    user.security_stamp = stamp
    return len(tokens)


def user_deactivate(*, actor: Any, user: Any, reason: str, now: datetime) -> User:
    """Deactivate an account and end its access at once. The caller checks that `actor` may
    deactivate this user; only a platform operator deactivates a platform operator."""
    if not reason.strip():
        message = _("A reason for the change is required.")
        raise DomainError(message, fields={"reason": [message]})
    if user.is_superuser and not getattr(actor, "is_superuser", False):
        raise PermissionDeniedError(_("Only a platform operator can deactivate this account."))
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        if locked.is_active:
            locked.is_active = False
            audited_save(locked, actor=actor, reason=reason, update_fields=["is_active"])
        # Also when already inactive: whatever path deactivated it, nothing of it stays usable.
        user_end_access(user=locked, now=now, reason=reason, actor=actor)
    user.is_active = False
    user.security_stamp = locked.security_stamp
    return locked


def user_end_access_on_lockout(*, username: str, now: datetime) -> User | None:
    """The account named at a lockout loses its sessions and tokens; returns it, if any."""
    user = User.objects.filter(username=username).first()
    if user is None:
        matches = list(User.objects.filter(username__iexact=username)[:2])
        user = matches[0] if len(matches) == 1 else None
    if user is None:
        return None
    user_end_access(user=user, now=now, reason="Account locked after repeated failed sign-ins")
    return user


# Two-factor authentication ------------------------------------------------------------------


def two_factor_setup_device(*, user: Any) -> TOTPDevice:
    """The authenticator being set up, kept until confirmed so that a reload shows the same
    secret."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)
    return device


def two_factor_confirm(
    *, user: Any, code: str, password: str = "", request: HttpRequest | None = None
) -> tuple[TOTPDevice, list[str]]:
    """Confirm the authenticator being set up with its first code; it replaces any earlier one
    (which takes the password). Returns the device and new recovery codes, shown once."""
    replacing = TOTPDevice.objects.filter(user=user, confirmed=True).exists()
    if replacing:
        password_reconfirm(user=user, password=password, request=request)
    codes: list[str] = []
    with transaction.atomic():
        device = (
            TOTPDevice.objects.select_for_update()
            .filter(user=user, confirmed=False)
            .order_by("pk")
            .first()
        )
        if device is None:
            raise DomainError(_("Start the set-up again: the page was out of date."))
        _refuse_throttled(device)
        # A wrong code is counted by the device's throttle, which must be committed: no error
        # is raised inside this transaction.
        confirmed = device.verify_token(_digits(code))
        if confirmed:
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
            codes = _recovery_codes_replace(user)
    if not confirmed:
        raise _wrong_code()
    return device, codes


def two_factor_verify(*, user: Any, code: str, request: HttpRequest | None) -> Any:
    """Check a code from the authenticator, or a recovery code (used up); return the device
    that accepted it. A wrong code counts towards the account lockout."""
    code = _digits(code)
    if code.isdigit():
        devices: Any = TOTPDevice.objects.filter(user=user, confirmed=True)
    else:
        devices = StaticDevice.objects.filter(user=user, confirmed=True)
    for device in devices:
        _refuse_throttled(device)
        verified = verify_token(user, device.persistent_id, code)
        if verified is not None:
            return verified
    user_login_failed.send(
        sender=__name__, credentials={"username": user.get_username()}, request=request
    )
    raise _wrong_code()


def recovery_codes_regenerate(
    *, user: Any, password: str, request: HttpRequest | None
) -> list[str]:
    """New recovery codes after the password; the old ones stop working."""
    if not TOTPDevice.objects.filter(user=user, confirmed=True).exists():
        raise DomainError(_("Set up two-factor authentication first."))
    password_reconfirm(user=user, password=password, request=request)
    with transaction.atomic():
        return _recovery_codes_replace(user)


def two_factor_disable(*, user: Any, password: str, request: HttpRequest | None) -> None:
    """Turn two-factor authentication off, for users whose roles do not require it."""
    if two_factor_required(user):
        raise PermissionDeniedError(
            _("Your role requires two-factor authentication; it cannot be turned off.")
        )
    password_reconfirm(user=user, password=password, request=request)
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        StaticDevice.objects.filter(user=user).delete()


def recovery_codes_left(user: Any) -> int:
    return StaticToken.objects.filter(device__user=user).count()


def _recovery_codes_replace(user: Any) -> list[str]:
    # The device is kept, so a session verified with one of its codes stays verified.
    device = StaticDevice.objects.filter(user=user).order_by("pk").first()
    if device is None:
        device = StaticDevice.objects.create(user=user, name="Recovery codes")
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


def _digits(code: str) -> str:
    # People type codes with spaces, as apps show them ("123 456"), and in either case.
    return "".join(str(code).split()).lower()


def _wrong_code() -> DomainError:
    message = _(
        "That code is not right. Enter the code your authenticator app shows now, "
        "or an unused recovery code."
    )
    return DomainError(message, fields={"code": [message]})


def _refuse_throttled(device: Any) -> None:
    # After wrong codes a device waits longer and longer before it checks another one.
    allowed, details = device.verify_is_allowed()
    if not allowed:
        until = details.get("locked_until") if details else None
        wait = max(1, int((until - timezone.now()).total_seconds()) + 1) if until else 1
        message = _("Too many wrong codes. Wait %(seconds)s seconds and try again.") % {
            "seconds": wait
        }
        raise DomainError(message, fields={"code": [message]})


# Preferences --------------------------------------------------------------------------------


def user_set_language(*, user: Any, language: str) -> None:
    if language not in dict(settings.LANGUAGES):
        raise DomainError("Unknown language.", fields={"language": ["Choose English or Spanish."]})
    User.objects.filter(pk=user.pk).update(language=language)
    user.language = language


# Invitations --------------------------------------------------------------------------------


def user_invite(
    *,
    actor: Any,
    username: str,
    email: str,
    first_name: str = "",
    last_name: str = "",
    printed_name: str = "",
    language: str = "en",
    reason: str,
    invited_to: str,
    site_url: str,
    now: datetime,
) -> User:
    """Create an account with no usable password and e-mail its owner a link to choose one.

    The link is a one-time token (Django's password reset token: it stops working once a
    password is set, and after PASSWORD_RESET_TIMEOUT). Nobody else ever learns or sets the
    password. An existing username or e-mail address is refused: an existing person is given a
    role, not a second account.
    """
    username, email = username.strip(), email.strip()
    names = {"first_name": first_name.strip(), "last_name": last_name.strip()}
    printed_name = printed_name.strip()
    _check_new_account(username=username, email=email, language=language)
    if not (names["first_name"] and names["last_name"]) and not printed_name:
        raise DomainError(
            "Give the person's first and last name, or the name printed on their signatures.",
            fields={"last_name": ["Required."]},
        )
    user = User(
        username=username,
        email=email,
        language=language,
        printed_name=printed_name,
        date_joined=now,
        **names,
    )
    user.set_unusable_password()
    try:
        audited_save(user, actor=actor, reason=reason)
    except DjangoValidationError as error:
        raise DomainError.from_validation_error(error) from None
    inviter = actor.display_name()
    transaction.on_commit(lambda: _send_invitation(user.pk, inviter, invited_to, site_url))
    return user


def _check_new_account(*, username: str, email: str, language: str) -> None:
    if not username:
        raise DomainError("Give a username.", fields={"username": ["Required."]})
    try:
        User.username_validator(username)
    except DjangoValidationError as error:
        raise DomainError(
            "This username is not valid.", fields={"username": list(error.messages)}
        ) from None
    if not email:
        raise DomainError("Give an e-mail address.", fields={"email": ["Required."]})
    try:
        validate_email(email)
    except DjangoValidationError:
        raise DomainError(
            "This e-mail address is not valid.", fields={"email": ["Not a valid address."]}
        ) from None
    if language not in dict(settings.LANGUAGES):
        raise DomainError("Unknown language.", fields={"language": ["Choose English or Spanish."]})
    if User.objects.filter(username__iexact=username).exists():
        raise DomainError(
            "An account with this username exists. To add an existing person to the trial, "
            "give them a role instead.",
            fields={"username": ["Already taken."]},
        )
    if User.objects.filter(email__iexact=email).exists():
        raise DomainError(
            "An account with this e-mail address exists. To add an existing person to the "
            "trial, give them a role instead.",
            fields={"email": ["Already in use."]},
        )


def invitation_resend(*, user: User, inviter: str, invited_to: str, site_url: str) -> None:
    """E-mail a new link to an invited person who has not chosen a password yet."""
    if user.has_usable_password() or user.last_login is not None:
        raise DomainError("This person has chosen a password already; they can sign in.")
    if not user.is_active:
        raise DomainError("This account is deactivated.")
    transaction.on_commit(lambda: _send_invitation(user.pk, inviter, invited_to, site_url))


def invitation_link(user: User, site_url: str) -> str:
    """The one-time address at which `user` chooses a password."""
    path = reverse(
        "set-password",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),
        },
    )
    return f"{site_url.rstrip('/')}{path}"


def _send_invitation(user_id: int, inviter: str, invited_to: str, site_url: str) -> None:
    user = User.objects.get(pk=user_id)
    hours = settings.PASSWORD_RESET_TIMEOUT // 3600
    # In the invitee's own language: they cannot choose it before they sign in.
    with translation.override(user.language):
        subject = _("You are invited to the eCRF of %(trial)s") % {"trial": invited_to}
        body = _(
            "%(inviter)s has created an account for you in the eCRF of %(trial)s.\n\n"
            "Your username: %(username)s\n\n"
            "Choose your password at this address (it works once, for %(hours)s hours):\n"
            "%(link)s\n"
        ) % {
            "inviter": inviter,
            "trial": invited_to,
            "username": user.username,
            "hours": hours,
            "link": invitation_link(user, site_url),
        }
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [user.email])
