"""Demo staff for every role of every trial, so a newcomer can sign in as anyone."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.db import transaction

from accounts.models import User
from accounts.services import system_actor
from ecrf.access import SITE_ROLES, Role
from trials.models import Trial
from trials.services import membership_grant


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    description: str


def _demo_password() -> str:
    return "demo-" + secrets.token_urlsafe(9)


def _set_password(user: User, password: str) -> None:
    user.set_password(password)
    user.save(update_fields=["password"])


def demo_staff_create() -> list[DemoLogin]:
    """Create (or reset the passwords of) one demo user per role and site; return the logins."""
    actor = system_actor()
    logins: list[DemoLogin] = []
    with transaction.atomic():
        admin, _ = User.objects.get_or_create(
            username="admin", defaults={"is_superuser": True, "is_staff": True}
        )
        password = _demo_password()
        _set_password(admin, password)
        logins.append(DemoLogin("admin", password, "installation administrator"))
        for trial in Trial.objects.order_by("code").prefetch_related("sites"):
            for role in Role:
                sites = list(trial.sites.all()) if role in SITE_ROLES else [None]
                for site in sites:
                    suffix = f".{site.code.lower()}" if site is not None else ""
                    username = f"{trial.code.lower()}.{role.value}{suffix}"
                    user, _ = User.objects.get_or_create(
                        username=username,
                        defaults={
                            "printed_name": f"Demo {role.label}",
                            "email": f"{username}@example.org",
                            "language": "es"
                            if site is not None and site.country in {"ES", "CL"}
                            else "en",
                        },
                    )
                    password = _demo_password()
                    _set_password(user, password)
                    membership_grant(actor=actor, user=user, trial=trial, role=role, site=site)
                    where = site.code if site is not None else "all sites"
                    logins.append(
                        DemoLogin(username, password, f"{trial.code} {role.label}, {where}")
                    )
    return logins
