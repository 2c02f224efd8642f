"""The custom user model and revocable per-user API tokens."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

from ecrf.history import audit_history


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

    # Who changed an account, when and why; never the password hash, nor each sign-in.
    history = audit_history(excluded_fields=["password", "last_login"])

    def display_name(self) -> str:
        return self.printed_name or self.get_full_name() or self.username


def hash_token(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class ApiToken(models.Model):
    """A bearer token for scripts; only its hash is stored, and revoking keeps the row."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=8, help_text="First characters, to recognise a token.")
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "revoked_at"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
