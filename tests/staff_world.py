"""People for the staff-management tests: the personas' trial with a second administrator,
another trial with its own administrator and investigator, and a platform operator."""

from __future__ import annotations

from dataclasses import dataclass

from accounts.models import User
from ecrf.access import Role
from tests.factories import SiteFactory, TrialFactory, UserFactory
from tests.personas import Personas, persona
from trials.models import Site, Trial


@dataclass
class StaffWorld:
    p: Personas
    second_admin: User
    other_trial: Trial
    other_site: Site
    other_admin: User
    other_investigator: User
    operator: User


def staff_world(personas: Personas) -> StaffWorld:
    other_trial = TrialFactory(code="OTHER", short_title="Other trial")
    other_site = SiteFactory(trial=other_trial, code="O01", name="Other hospital")
    return StaffWorld(
        p=personas,
        second_admin=persona(personas.trial, Role.TRIAL_ADMIN, None, "second_admin"),
        other_trial=other_trial,
        other_site=other_site,
        other_admin=persona(other_trial, Role.TRIAL_ADMIN, None, "other_admin"),
        other_investigator=persona(other_trial, Role.INVESTIGATOR, other_site, "other_inv"),
        operator=UserFactory(username="operator", is_superuser=True, is_staff=True),
    )
