"""The people of the tests: a team at two sites of a trial, with one member per role.

`make_team` builds the team of a shipped protocol (MSVLE, MSCROLE) once it is loaded with
`load`; `make_personas` builds the same team, plus a data manager and an outsider, on a small
trial of the factories (DEMO), each person named after their username.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from accounts.models import User
from accounts.services import system_actor
from ecrf.access import Role
from tests.factories import (
    DEFAULT_PASSWORD,
    MembershipFactory,
    SiteFactory,
    TrialFactory,
    UserFactory,
)
from trials.models import Site, Trial
from trials.protocol import ProtocolDefinition, parse_protocol_file
from trials.services import protocol_load

PROTOCOLS = Path(__file__).resolve().parents[1] / "protocols"
# The shipped protocols are loaded, and their teams set up, at this instant.
NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


@cache
def shipped_definition(name: str) -> ProtocolDefinition:
    """A shipped protocol file, parsed and checked once per test process: it is immutable."""
    return parse_protocol_file(PROTOCOLS / name)


def load(name: str) -> Trial:
    """The trial of a shipped protocol file, loaded by the system."""
    definition = shipped_definition(name)
    result = protocol_load(actor=system_actor(), definition=definition, source_name=name, now=NOW)
    return result.version.trial


@dataclass
class Team:
    """A member of each role: at `site`, at `other_site` (a coordinator) or trial-wide."""

    trial: Trial
    site: Site
    other_site: Site
    investigator: User
    coordinator: User
    other_coordinator: User
    pharmacist: User
    monitor: User
    medical_monitor: User
    statistician: User
    unblinded_statistician: User
    trial_admin: User
    password: str = DEFAULT_PASSWORD


@dataclass
class Personas(Team):
    """The team of the DEMO trial, with a data manager and someone of no trial. Each person is
    also reachable by their username (`coordinator_a` is the coordinator at site A01)."""

    data_manager: User = field(kw_only=True)
    outsider: User = field(kw_only=True)

    @property
    def site_a(self) -> Site:
        return self.site

    @property
    def site_b(self) -> Site:
        return self.other_site

    @property
    def investigator_a(self) -> User:
        return self.investigator

    @property
    def coordinator_a(self) -> User:
        return self.coordinator

    @property
    def coordinator_b(self) -> User:
        return self.other_coordinator

    @property
    def pharmacist_a(self) -> User:
        return self.pharmacist

    @property
    def monitor_a(self) -> User:
        return self.monitor


def member(trial: Trial, role: str, site: Site | None, username: str, **fields: Any) -> User:
    """A user with one membership: `role` in `trial`, at `site` or (without one) trial-wide."""
    user = UserFactory(username=username, **fields)
    MembershipFactory(user=user, trial=trial, site=site, role=role)
    return user


def persona(trial: Trial, role: str, site: Site | None, username: str) -> User:
    """A member whose printed name is their username: `coordinator_a` is "Coordinator A"."""
    return member(trial, role, site, username, printed_name=username.replace("_", " ").title())


def make_team(trial: Trial) -> Team:
    """The team of a loaded trial at its first site and at a new site in another time zone;
    usernames start with the trial's code (`msvle_coordinator`)."""
    site = trial.sites.order_by("code").first()
    other = SiteFactory(
        trial=trial, code="ZZ01", name="Other hospital", time_zone="America/Santiago"
    )

    def named(role: str, at: Site | None, name: str) -> User:
        username = f"{trial.code.lower()}_{name}"
        return member(trial, role, at, username, email=f"{name}@{trial.code}.org")

    return Team(
        trial=trial,
        site=site,
        other_site=other,
        investigator=named(Role.INVESTIGATOR, site, "investigator"),
        coordinator=named(Role.COORDINATOR, site, "coordinator"),
        other_coordinator=named(Role.COORDINATOR, other, "other_coordinator"),
        pharmacist=named(Role.PHARMACIST, site, "pharmacist"),
        monitor=named(Role.MONITOR, site, "monitor"),
        medical_monitor=named(Role.MEDICAL_MONITOR, None, "medical_monitor"),
        statistician=named(Role.STATISTICIAN, None, "statistician"),
        unblinded_statistician=named(Role.UNBLINDED_STATISTICIAN, None, "unblinded"),
        trial_admin=named(Role.TRIAL_ADMIN, None, "admin"),
    )


def make_personas() -> Personas:
    """The DEMO trial with Hospital A (A01, Madrid) and Hospital B (B01, Santiago)."""
    trial = TrialFactory(code="DEMO")
    site_a = SiteFactory(trial=trial, code="A01", name="Hospital A", time_zone="Europe/Madrid")
    site_b = SiteFactory(
        trial=trial, code="B01", name="Hospital B", country="CL", time_zone="America/Santiago"
    )
    return Personas(
        trial=trial,
        site=site_a,
        other_site=site_b,
        investigator=persona(trial, Role.INVESTIGATOR, site_a, "investigator_a"),
        coordinator=persona(trial, Role.COORDINATOR, site_a, "coordinator_a"),
        other_coordinator=persona(trial, Role.COORDINATOR, site_b, "coordinator_b"),
        pharmacist=persona(trial, Role.PHARMACIST, site_a, "pharmacist_a"),
        monitor=persona(trial, Role.MONITOR, site_a, "monitor_a"),
        data_manager=persona(trial, Role.DATA_MANAGER, None, "data_manager"),
        medical_monitor=persona(trial, Role.MEDICAL_MONITOR, None, "medical_monitor"),
        statistician=persona(trial, Role.STATISTICIAN, None, "statistician"),
        unblinded_statistician=persona(
            trial, Role.UNBLINDED_STATISTICIAN, None, "unblinded_statistician"
        ),
        trial_admin=persona(trial, Role.TRIAL_ADMIN, None, "trial_admin"),
        outsider=UserFactory(username="outsider"),
    )
