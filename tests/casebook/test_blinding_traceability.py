"""The product, release and custody values of the infusion never reach a blinded reader: not
on the review page, not in a blinded export (datasets and ODM); the pharmacist sees them, and
every reader sees the infusion monitoring (SpO2, premedication), which reveals nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from exports.base import ExportContext
from exports.odm import write_odm
from tests.casebook.blinding import REVEALING_VALUES
from tests.exports.dataset_fixtures import rows_of

TRACEABILITY_VALUES = ("BAG-9917", "DN-4471", "0.125", "Ines Farmacia")
TRACEABILITY_NAMES = (
    "bag_id",
    "donor_code",
    "sterility_result",
    "endotoxin_eu_per_ml",
    "mycoplasma_result",
    "received_at",
    "received_by",
    "storage_acceptable",
    "thawed_at",
    "dispensed_at",
)


def page(client: Client, user, participant, record_id: int) -> str:
    client.force_login(user)
    response = client.get(f"/review/participants/{participant.pk}/infusion/{record_id}/")
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize("role", ["investigator", "monitor", "coordinator"])
def test_the_review_page_shows_a_blinded_reader_no_traceability(
    client, msvle, participant, infusion, role
) -> None:
    shown = page(client, getattr(msvle, role), participant, infusion["id"])
    assert [value for value in REVEALING_VALUES if value in shown] == []
    assert [name for name in TRACEABILITY_NAMES if f'id="field-{name}"' in shown] == []


def test_the_pharmacist_sees_the_traceability_on_the_page(
    client, msvle, participant, infusion
) -> None:
    shown = page(client, msvle.pharmacist, participant, infusion["id"])
    assert all(value in shown for value in TRACEABILITY_VALUES)


def export_context(team: Any, *, blinded: bool) -> ExportContext:
    trial = team.trial
    return ExportContext(
        trial=trial,
        protocol_version=trial.protocol_versions.order_by("-number").first(),
        as_of=timezone.now(),
        blinded=blinded,
    )


def test_a_blinded_export_holds_no_traceability(msvle, participant, infusion, tmp_path) -> None:
    ctx = export_context(msvle, blinded=True)
    (ec,) = rows_of(ctx, "EC")
    assert [value for value in REVEALING_VALUES if value in repr(ec)] == []
    files = write_odm(ctx, Path(tmp_path), lambda units: None)
    odm = "".join(Path(file.path).read_text(encoding="utf-8") for file in files)
    assert [value for value in TRACEABILITY_VALUES if value in odm] == []
    assert [name for name in TRACEABILITY_NAMES if f"IT.INFUSION.{name.upper()}" in odm] == []
    # Not revealing, so in the blinded file.
    assert "IT.INFUSION.SPO2_PRE_PCT" in odm
