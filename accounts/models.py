"""The custom user model and revocable, expiring per-user API tokens."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterator
from datetime import datetime

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _

from ecrf.history import audit_history


def new_security_stamp() -> str:
    return secrets.token_urlsafe(24)


class User(AbstractUser):
    """A person who signs in; what they may do comes from their trial memberships."""

    language = models.CharField(
        _("language"), max_length=8, choices=settings.LANGUAGES, default="en"
    )
    # Printed on e-signatures, as the person signs.
    printed_name = models.CharField(_("printed name"), max_length=200, blank=True)
    is_system = models.BooleanField(
        default=False, help_text="An account used by jobs and commands, never by a person."
    )
    # Part of every session's check value: a new stamp ends all of this user's sessions at
    # their next request (deactivation, lockout), as a password change does.
    security_stamp = models.CharField(max_length=64, default=new_security_stamp, editable=False)

    # Who changed an account, when and why; never the password hash or the session stamp, nor
    # each sign-in.
    history = audit_history(excluded_fields=["password", "last_login", "security_stamp"])

    def display_name(self) -> str:
        return self.printed_name or self.get_full_name() or self.username

    def get_session_auth_hash(self) -> str:
        return self._stamped_session_hash(None)

    def get_session_auth_fallback_hash(self) -> Iterator[str]:
        for secret in settings.SECRET_KEY_FALLBACKS:
            yield self._stamped_session_hash(secret)

    def _stamped_session_hash(self, secret: str | bytes | None) -> str:
        return salted_hmac(
            "accounts.User.session_auth_hash",
            f"{self.password}:{self.security_stamp}",
            secret=secret,
            algorithm="sha256",
        ).hexdigest()


def hash_token(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class ApiToken(models.Model):
    """A bearer token for scripts; only its hash is stored, and revoking keeps the row.

    A token works until it expires or is revoked; nothing un-revokes one.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=8, help_text="First characters, to recognise a token.")
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    history = audit_history()

    class Meta:
        indexes = [models.Index(fields=["user", "revoked_at"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(expires_at__gt=models.F("created_at")),
                name="apitoken_expires_after_creation",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def is_active(self, now: datetime) -> bool:
        return self.revoked_at is None and self.expires_at > now
