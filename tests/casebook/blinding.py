"""The infusion record of the blinding tests, entered and changed through the forms API, and
the check for allocation-revealing names and values in what a role receives."""

from __future__ import annotations

import re
from typing import Any

from rest_framework.test import APIClient

from accounts.models import User
from assessments.rules.infusion import REVEALING
from ecrf.access import Role
from tests.factories import MembershipFactory, UserFactory
from tests.personas import Team
from tests.world import not_of_childbearing_potential
from trials.models import Participant

BLINDED = (
    "investigator",
    "coordinator",
    "monitor",
    "medical_monitor",
    "statistician",
    "data_manager",
    "trial_admin",
    # Before the trial lock and without a DSMB release, the unblinded statistician is blind.
    "unblinded_statistician",
)
UNBLINDED = ("pharmacist", "unblinded_statistician")

# 65.3 kg x 2 x 10^6 cells/kg: a target of 130.6 x 10^6 cells.
ADMINISTRATION = {
    "weight_kg": "65.3",
    "weight_date": "2026-03-04",
    "given": True,
    "volume_ml": "100",
    "start_time": "2026-03-04T09:00:00Z",
    "stop_time": "2026-03-04T10:00:00Z",
    "interrupted": False,
}
PRODUCT = {
    "kit_number": "K-0042",
    "product_lot": "LOT-7",
    "cell_count_1e6": "125.5",
    "viability_pct": "92.5",
    "release_checks_passed": True,
    "bag_id": "BAG-9917",
    "donor_code": "DN-4471",
    "sterility_result": "negative",
    "endotoxin_eu_per_ml": "0.125",
    "mycoplasma_result": "negative",
    "received_by": "Ines Farmacia",
    "storage_acceptable": True,
}
# The chain of custody before the 09:00 start (UTC).
CUSTODY = {
    "received_at": "2026-03-03T15:10:00Z",
    "thawed_at": "2026-03-04T08:31:00Z",
    "dispensed_at": "2026-03-04T08:47:00Z",
}
RECOUNT = "131.5"
# Each revealing value as it shows in a string or a number, whatever the decimal places:
# kit, lot, the first and second cell counts, viability, the target and the dose per kg.
# bag, donor code, endotoxin, who received the bag and the custody times at the site (Madrid).
REVEALING_VALUES = (
    "K-0042",
    "LOT-7",
    "125.5",
    RECOUNT,
    "92.5",
    "130.6",
    "2000000",
    "BAG-9917",
    "DN-4471",
    "0.125",
    "Ines Farmacia",
    "16:10:00",
    "09:31:00",
    "09:47:00",
)
# Every revealing name: the form's own, and those the protocol adds (e.g. the arm).
REVEALING_NAMES = frozenset(REVEALING) | {"arm"}


def leaks(payload: Any) -> set[str]:
    """The revealing field names (as keys, or as values such as a history entry's `field`) and
    the revealing values found anywhere in a JSON payload."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in REVEALING_NAMES:
                    found.add(key)
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)
        elif node is not None and not isinstance(node, bool):
            text = str(node)
            # Whole words: "arm" inside a username such as "msvle_pharmacist" reveals nothing.
            found.update(name for name in REVEALING_NAMES if re.search(rf"\b{name}\b", text))
            found.update(value for value in REVEALING_VALUES if value in text)

    walk(payload)
    return found


def readers(msvle: Team) -> dict[str, User]:
    """A user of each role, by role name; the data manager is trial-wide."""
    data_manager = UserFactory(username="msvle_data_manager")
    MembershipFactory(user=data_manager, trial=msvle.trial, site=None, role=Role.DATA_MANAGER)
    return {
        **{role: getattr(msvle, role) for role in {*BLINDED, *UNBLINDED} - {"data_manager"}},
        "data_manager": data_manager,
    }


def url(participant, suffix: str = "") -> str:
    return f"/api/v1/participants/{participant.pk}/forms/infusion/{suffix}"


def enter_infusion(msvle: Team, participant: Participant) -> dict[str, Any]:
    """Entered by the pharmacist, recounted by the pharmacist, then a site field changed by the
    coordinator: the record and what each change returned."""
    not_of_childbearing_potential(msvle, participant)
    api = APIClient()
    api.force_login(msvle.pharmacist)
    visit = participant.visits.get(code="D0")
    entered = api.post(
        url(participant),
        {"visit": visit.pk, "data": {**ADMINISTRATION, **PRODUCT, **CUSTODY}},
        format="json",
    )
    assert entered.status_code == 201, entered.json()
    record = entered.json()
    recount = api.put(
        url(participant, f"{record['id']}/"),
        {"version": 1, "reason": "Recount", "data": {"cell_count_1e6": RECOUNT}},
        format="json",
    )
    assert recount.status_code == 200, recount.json()
    api.force_login(msvle.coordinator)
    volume = api.put(
        url(participant, f"{record['id']}/"),
        {"version": 2, "reason": "Volume read again from the pump", "data": {"volume_ml": "98"}},
        format="json",
    )
    assert volume.status_code == 200, volume.json()
    return {
        "id": record["id"],
        "entered": record,
        "recount": recount.json(),
        "coordinator_change": volume.json(),
    }


def read_all(api: APIClient, participant, record_id: int) -> dict[str, Any]:
    responses = {
        "list": api.get(url(participant)),
        "detail": api.get(url(participant, f"{record_id}/")),
        "history": api.get(url(participant, f"{record_id}/history/")),
        "casebook": api.get(f"/api/v1/participants/{participant.pk}/casebook/"),
    }
    for name, response in responses.items():
        assert response.status_code == 200, (name, response.json())
    return {name: response.json() for name, response in responses.items()}
