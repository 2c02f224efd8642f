"""Blinding through the forms API: a pharmacist's infusion record, read by every role. Blinded
roles never receive an allocation-revealing field, by name or by value, in the list, the record,
its history or the casebook; the unblinded roles do."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from assessments.rules.infusion import REVEALING
from tests.casebook.blinding import (
    BLINDED,
    RECOUNT,
    REVEALING_NAMES,
    REVEALING_VALUES,
    UNBLINDED,
    leaks,
    read_all,
    url,
)
from tests.openapi import assert_conforms, openapi
from tests.world import grant_release
from trials.models import AllocationSlot

pytestmark = pytest.mark.usefixtures("after_week24")


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
