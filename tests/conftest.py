"""Shared fixtures: named personas at two sites of one trial."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from accounts.models import User
from ecrf.access import Role
from tests.factories import (
    DEFAULT_PASSWORD,
    MembershipFactory,
    SiteFactory,
    TrialFactory,
    UserFactory,
)
from trials.models import Site, Trial


@dataclass
class Personas:
    trial: Trial
    site_a: Site
    site_b: Site
    investigator_a: User
    coordinator_a: User
    coordinator_b: User
    pharmacist_a: User
    monitor_a: User
    data_manager: User
    medical_monitor: User
    statistician: User
    unblinded_statistician: User
    trial_admin: User
    outsider: User
    password: str = DEFAULT_PASSWORD


def _member(trial: Trial, role: str, site: Site | None, username: str) -> User:
    user = UserFactory(username=username, printed_name=username.replace("_", " ").title())
    MembershipFactory(user=user, trial=trial, site=site, role=role)
    return user


@pytest.fixture
def personas(db: None) -> Personas:
    trial = TrialFactory(code="DEMO")
    site_a = SiteFactory(trial=trial, code="A01", name="Hospital A", time_zone="Europe/Madrid")
    site_b = SiteFactory(
        trial=trial, code="B01", name="Hospital B", country="CL", time_zone="America/Santiago"
    )
    return Personas(
        trial=trial,
        site_a=site_a,
        site_b=site_b,
        investigator_a=_member(trial, Role.INVESTIGATOR, site_a, "investigator_a"),
        coordinator_a=_member(trial, Role.COORDINATOR, site_a, "coordinator_a"),
        coordinator_b=_member(trial, Role.COORDINATOR, site_b, "coordinator_b"),
        pharmacist_a=_member(trial, Role.PHARMACIST, site_a, "pharmacist_a"),
        monitor_a=_member(trial, Role.MONITOR, site_a, "monitor_a"),
        data_manager=_member(trial, Role.DATA_MANAGER, None, "data_manager"),
        medical_monitor=_member(trial, Role.MEDICAL_MONITOR, None, "medical_monitor"),
        statistician=_member(trial, Role.STATISTICIAN, None, "statistician"),
        unblinded_statistician=_member(
            trial, Role.UNBLINDED_STATISTICIAN, None, "unblinded_statistician"
        ),
        trial_admin=_member(trial, Role.TRIAL_ADMIN, None, "trial_admin"),
        outsider=UserFactory(username="outsider"),
    )
