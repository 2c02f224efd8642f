"""Blinding through the forms API: a pharmacist's infusion record, read by every role. Blinded
roles never receive an allocation-revealing field, by name or by value, in the list, the record,
its history or the casebook; the unblinded roles do."""

from __future__ import annotations

import re
from typing import Any

import pytest
from rest_framework.test import APIClient

from assessments.rules.infusion import REVEALING
from ecrf.access import Role
from tests.assessments.conftest import after_week24, participant  # noqa: F401 - fixtures
from tests.factories import MembershipFactory, UserFactory
from tests.openapi import assert_conforms, openapi
from tests.trials.conftest import (
    grant_release,
    msvle,  # noqa: F401 - fixtures
)
from trials.models import AllocationSlot

pytestmark = pytest.mark.usefixtures("after_week24")

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
}
RECOUNT = "131.5"
# Each revealing value as it shows in a string or a number, whatever the decimal places:
# kit, lot, the first and second cell counts, viability, the target and the dose per kg.
REVEALING_VALUES = ("K-0042", "LOT-7", "125.5", RECOUNT, "92.5", "130.6", "2000000")
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


def url(participant, suffix: str = "") -> str:
    return f"/api/v1/participants/{participant.pk}/forms/infusion/{suffix}"


@pytest.fixture
def users(msvle) -> dict[str, Any]:
    data_manager = UserFactory(username="msvle_data_manager")
    MembershipFactory(user=data_manager, trial=msvle.trial, site=None, role=Role.DATA_MANAGER)
    return {
        **{role: getattr(msvle, role) for role in {*BLINDED, *UNBLINDED} - {"data_manager"}},
        "data_manager": data_manager,
    }


@pytest.fixture
def infusion(msvle, participant) -> dict[str, Any]:
    """Entered by the pharmacist, recounted by the pharmacist, then a site field changed by the
    coordinator: the record and what each change returned."""
    api = APIClient()
    api.force_login(msvle.pharmacist)
    visit = participant.visits.get(code="D0")
    entered = api.post(
        url(participant), {"visit": visit.pk, "data": {**ADMINISTRATION, **PRODUCT}}, format="json"
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


def test_the_check_finds_every_revealing_name_and_value_in_the_pharmacists_view(
    participant, users, infusion
) -> None:
    api = APIClient()
    api.force_login(users["pharmacist"])
    read = read_all(api, participant, infusion["id"])
    # The record carries every revealing field of the form and every current value.
    current = set(REVEALING_VALUES) - {"125.5"}
    assert leaks(read["detail"]) == set(REVEALING) | current
    assert leaks(read["list"]) == set(REVEALING) | current
    # The history holds the first count too, and names the changed fields.
    history = leaks(read["history"])
    assert {"cell_count_1e6", "kit_number", "125.5", RECOUNT} <= history
    # What the pharmacist's own entry returned carried them as well.
    assert {"kit_number", "cell_count_1e6", "K-0042", "125.5"} <= leaks(infusion["entered"])


@pytest.mark.parametrize("role", UNBLINDED)
def test_unblinded_roles_get_the_revealing_fields(
    msvle, participant, users, infusion, role
) -> None:
    if role == "unblinded_statistician":
        # Their ground: a DSMB release in force (or the trial lock), as for exports.
        grant_release(msvle)
    api = APIClient()
    api.force_login(users[role])
    read = read_all(api, participant, infusion["id"])
    detail = read["detail"]
    assert set(REVEALING) <= set(detail)
    assert (detail["kit_number"], detail["product_lot"]) == ("K-0042", "LOT-7")
    assert float(detail["cell_count_1e6"]) == float(RECOUNT)
    assert float(detail["target_million_cells"]) == 130.6
    # 131.5 is within +/-10 % of 130.6 for the active arm; a placebo infusion holds no cells.
    active = AllocationSlot.objects.get(participant=participant).arm_code == "MSC"
    assert (detail["within_tolerance"], detail["deviation_required"]) == (active, not active)
    assert bool(detail["dose_warnings"]) is not active
    recount = next(entry for entry in read["history"] if entry["reason"] == "Recount")
    changes = {c["field"]: (c["old"], c["new"]) for c in recount["changes"]}
    assert {float(v) for v in changes["cell_count_1e6"]} == {125.5, 131.5}


@pytest.mark.parametrize("role", BLINDED)
def test_blinded_roles_receive_no_revealing_name_or_value(
    participant, users, infusion, role
) -> None:
    api = APIClient()
    api.force_login(users[role])
    read = read_all(api, participant, infusion["id"])
    for name, payload in read.items():
        assert leaks(payload) == set(), (role, name)
    # They do read the record: the administration, not the product.
    detail = read["detail"]
    assert detail["given"] is True
    assert (float(detail["volume_ml"]), float(detail["weight_kg"])) == (98.0, 65.3)
    assert detail["row_version"] == 3
    assert not set(REVEALING) & set(detail)
    assert [record["id"] for record in read["list"]] == [infusion["id"]]
    # The casebook shows the infusion as entered at Day 0, and nothing more.
    d0 = next(row for row in read["casebook"] if row["visit"] == "D0")
    cell = next(cell for cell in d0["forms"] if cell["form"] == "infusion")
    assert (cell["status"], cell["record_id"]) == ("entered", infusion["id"])


@pytest.mark.parametrize("role", BLINDED)
def test_blinded_history_omits_the_pharmacy_only_changes(
    participant, users, infusion, role
) -> None:
    api = APIClient()
    api.force_login(users[role])
    history = api.get(url(participant, f"{infusion['id']}/history/")).json()
    assert [(entry["kind"], entry["reason"]) for entry in history] == [
        ("created", "Initial entry"),
        ("changed", "Volume read again from the pump"),
    ]
    fields = {change["field"] for entry in history for change in entry["changes"]}
    assert not fields & REVEALING_NAMES
    assert {"weight_kg", "given", "volume_ml"} <= fields
    volume = {c["field"]: (c["old"], c["new"]) for c in history[1]["changes"]}
    assert {k: tuple(float(v) for v in pair) for k, pair in volume.items()} == {
        "volume_ml": (100.0, 98.0)
    }


def test_a_blinded_editor_gets_back_no_revealing_field_from_its_own_change(infusion) -> None:
    # The coordinator's change re-derives the dose check; what it returns still hides it.
    assert leaks(infusion["coordinator_change"]) == set()
    assert infusion["coordinator_change"]["row_version"] == 3
    assert leaks(infusion["recount"]) >= {"cell_count_1e6", RECOUNT}


@pytest.mark.parametrize("role", ["investigator", "statistician", "pharmacist"])
def test_what_each_role_receives_is_what_the_schema_says(participant, users, infusion, role):
    """The schema never promises a field that blinded roles do not receive."""
    api = APIClient()
    api.force_login(users[role])
    base = "/api/v1/participants/{participant_id}/forms/infusion/"
    for response, template in (
        (api.get(url(participant)), base),
        (api.get(url(participant, f"{infusion['id']}/")), base + "{record_id}/"),
    ):
        assert_conforms(response, "GET", template)
    record = openapi()["components"]["schemas"]["InfusionRecord"]
    assert not set(REVEALING) & set(record["required"])
    for name in REVEALING:
        assert "blinded" in record["properties"][name]["description"], name
