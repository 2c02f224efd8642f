"""The synthetic staff of a trial: one account per role and site, granted through the service."""

from __future__ import annotations

from dataclasses import dataclass, field

from accounts.models import User
from accounts.services import system_actor
from ecrf.access import SITE_ROLES, Role
from ecrf.audit import audited_save
from trials.models import Participant, Site, Trial
from trials.services import membership_grant

# Usernames of synthetic staff start with this; what they created is synthetic data.
PREFIX = "synthetic."
SITE_KEYS = ("coordinator", "investigator", "pharmacist", "monitor")
TRIAL_KEYS = ("medical_monitor", "unblinded_statistician", "data_manager")


def username(trial: Trial, role: str, site: Site | None = None) -> str:
    suffix = f".{site.code.lower()}" if site is not None else ""
    return f"{PREFIX}{trial.code.lower()}.{role}{suffix}"


@dataclass
class Staff:
    """Who does what in the synthetic trial; `actor(key, site)` names the person."""

    system: User
    by_site: dict[tuple[str, int], User] = field(default_factory=dict)
    trial_wide: dict[str, User] = field(default_factory=dict)

    def actor(self, key: str, site: Site | None = None) -> User:
        if key == "system":
            return self.system
        if key in self.trial_wide:
            return self.trial_wide[key]
        assert site is not None, f"{key} works at a site"
        return self.by_site[key, site.pk]

    def users(self) -> list[User]:
        return [self.system, *self.by_site.values(), *self.trial_wide.values()]


def _account(name: str, system: User) -> User:
    user = User.objects.filter(username=name).first()
    if user is None:
        # No e-mail address: alerts about synthetic participants are not mailed to anyone.
        user = User(username=name, printed_name=name.replace(".", " ").title(), email="")
        user.set_unusable_password()
        audited_save(user, actor=system, reason="Synthetic staff account")
    return user


def staff_ensure(trial: Trial, sites: list[Site]) -> Staff:
    """The synthetic staff of `trial`, created with their memberships where missing."""
    system = system_actor()
    staff = Staff(system=system)
    for key in SITE_KEYS:
        assert Role(key) in SITE_ROLES
        for site in sites:
            user = _account(username(trial, key, site), system)
            membership_grant(actor=system, user=user, trial=trial, role=key, site=site)
            staff.by_site[key, site.pk] = user
    for key in TRIAL_KEYS:
        user = _account(username(trial, key), system)
        membership_grant(actor=system, user=user, trial=trial, role=key)
        staff.trial_wide[key] = user
    return staff


def synthetic_participants(trial: Trial) -> int:
    """How many participants of `trial` synthetic staff registered."""
    created = Participant.history.filter(
        history_type="+", history_user__username__startswith=PREFIX, trial_id=trial.pk
    ).values("id")
    return Participant.objects.filter(trial=trial, pk__in=created).count()
