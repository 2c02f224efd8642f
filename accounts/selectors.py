"""Reads for accounts: a user's own API tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import BooleanField, ExpressionWrapper, Q, QuerySet

from accounts.models import ApiToken


def token_list(user: Any, *, now: datetime) -> QuerySet[ApiToken]:
    """The tokens `user` owns, newest first, each with `active` (neither revoked nor expired)."""
    active = ExpressionWrapper(
        Q(revoked_at__isnull=True, expires_at__gt=now), output_field=BooleanField()
    )
    return ApiToken.objects.filter(user=user).annotate(active=active).order_by("-created_at", "-pk")
