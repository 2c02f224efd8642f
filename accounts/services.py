"""Writes for accounts: API tokens, language preference, the system actor, invitations."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import transaction
from django.urls import reverse
from django.utils import translation
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _

from accounts.models import ApiToken, User, hash_token
from ecrf.audit import audited_save
from ecrf.errors import DomainError, NotFoundError

SYSTEM_USERNAME = "system"


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


def token_create(*, user: Any, name: str, now: datetime) -> tuple[ApiToken, str]:
    """Create a token and return it with its key; the key is shown once and never stored."""
    name = name.strip()
    if not name:
        raise DomainError("Give the token a name.", fields={"name": ["Required."]})
    key = secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, name=name[:100], prefix=key[:8], key_hash=hash_token(key), created_at=now
    )
    return token, key


def token_revoke(*, user: Any, token_id: int, now: datetime) -> ApiToken:
    with transaction.atomic():
        token = ApiToken.objects.select_for_update().filter(pk=token_id, user=user).first()
        if token is None:
            raise NotFoundError("No such token.")
        if token.revoked_at is None:
            token.revoked_at = now
            token.save(update_fields=["revoked_at"])
        return token


def user_set_language(*, user: Any, language: str) -> None:
    if language not in dict(settings.LANGUAGES):
        raise DomainError("Unknown language.", fields={"language": ["Choose English or Spanish."]})
    User.objects.filter(pk=user.pk).update(language=language)
    user.language = language


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


def user_deactivate(*, actor: Any, user: Any, reason: str, now: datetime) -> User:
    """Close an account: sign-in, open sessions and API tokens stop working at once.

    Django's authentication refuses an inactive account on every request, so the sessions end
    with the change; the tokens are revoked for good as well.
    """
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        if locked.is_active:
            locked.is_active = False
            audited_save(locked, actor=actor, reason=reason, update_fields=["is_active"])
        ApiToken.objects.filter(user=locked, revoked_at__isnull=True).update(revoked_at=now)
    return locked
