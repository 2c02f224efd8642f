"""Writes for accounts: API tokens, language preference, the system actor."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import ApiToken, User, hash_token
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


def record_sign_in(sender: Any, user: Any, **_: Any) -> None:
    """Note the time of a sign-in without writing a version of the account."""
    now = timezone.now()
    User.objects.filter(pk=user.pk).update(last_login=now)
    user.last_login = now


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
