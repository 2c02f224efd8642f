"""DRF authentication with revocable, expiring per-user tokens: `Authorization: Token <key>`."""

from __future__ import annotations

from typing import Any

from django.utils import timezone, translation
from rest_framework import authentication, exceptions

from accounts.models import ApiToken, hash_token


class ApiTokenAuthentication(authentication.TokenAuthentication):
    keyword = "Token"

    def authenticate_credentials(self, key: str) -> tuple[Any, ApiToken]:
        now = timezone.now()
        token = (
            ApiToken.objects.select_related("user")
            .filter(key_hash=hash_token(key), revoked_at__isnull=True)
            .first()
        )
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked token.")
        if token.expires_at <= now:
            raise exceptions.AuthenticationFailed(
                "This token has expired; create a new one while signed in."
            )
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed("User inactive.")
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        # Answers, errors included, in the user's language, as a signed-in page is; the
        # language middleware restores the previous one after the request.
        translation.activate(token.user.language)
        return token.user, token
