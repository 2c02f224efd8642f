"""The live preview beside a form being entered: the checks and derived values a save would
give, by the same rules, with nothing written, and only for those who may enter the form."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
from django.test import Client

from assessments.models import RenalAssessment, SledaiAssessment
from assessments.services import form_save
from casebook.catalogue import form_type
from tests.world import ENTERED
from trials.models import Participant

pytestmark = pytest.mark.usefixtures("after_week24")

SLEDAI = {
    "assessment_date": "2026-04-01",
    "window_days": "10",
    "prot": "on",
    "hemat": "on",
    "hemat_sle": "true",
    "casts": "on",
    "lowcomp": "on",
    "dna": "on",
}
# 55 mg/mmol at week 24 against 350 mg/mmol at selection (exactly 0.486 and 3.094 g/g).
RENAL = {
    "assessment_date": "2026-08-19",
    "specimen_type": "24h_urine",
    "upcr_value": "55",
    "upcr_unit": "mg/mmol",
    "serum_creatinine_value": "0.80",
    "creatinine_unit": "mg/dL",
    "urine_rbc_hpf": "2",
    "urine_wbc_hpf": "1",
    "rbc_casts": "false",
    "cellular_casts": "false",
}


def _written() -> tuple[int, ...]:
    return (
        SledaiAssessment.objects.count(),
        SledaiAssessment.history.count(),
        RenalAssessment.objects.count(),
        RenalAssessment.history.count(),
    )


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_preview_shows_what_the_save_derives_and_writes_nothing(msvle, participant) -> None:
    Participant.objects.filter(pk=participant.pk).update(sex="F", date_of_birth=date(1991, 1, 15))
    participant.refresh_from_db()
    form_save(
        actor=msvle.investigator,
        ftype=form_type("renal"),
        participant=participant,
        visit=participant.visits.get(code="SEL"),
        data={
            "assessment_date": date(2026, 3, 3),
            "specimen_type": "24h_urine",
            "upcr_value": Decimal(350),
            "upcr_unit": "mg/mmol",
            "serum_creatinine_value": Decimal("0.79"),
            "creatinine_unit": "mg/dL",
        },
        now=ENTERED,
    )
    client = Client(enforce_csrf_checks=True)
    client.force_login(msvle.investigator)
    base = f"/casebook/{participant.pk}"
    w4, w24 = (participant.visits.get(code=code).pk for code in ("W4", "W24"))
    client.get(f"{base}/sledai2k/new/?visit={w4}")
    token = {"HTTP_X_CSRFTOKEN": client.cookies["csrftoken"].value}
    before = _written()
    assert client.post(f"{base}/sledai2k/new/preview/", {"visit": w4, **SLEDAI}).status_code == 403

    sledai = _text(
        client.post(
            f"{base}/sledai2k/new/preview/", {"visit": w4, **SLEDAI}, **token
        ).content.decode()
    )
    renal = _text(
        client.post(f"{base}/renal/new/preview/", {"visit": w24, **RENAL}, **token).content.decode()
    )
    refused = _text(
        client.post(
            f"{base}/sledai2k/new/preview/", {**SLEDAI, "visit": w4, "seiz": "on"}, **token
        ).content.decode()
    )
    assert _written() == before

    # The same numbers once saved.
    assert client.post(f"{base}/sledai2k/new/?visit={w4}", SLEDAI, **token).status_code == 302
    assert client.post(f"{base}/renal/new/?visit={w24}", RENAL, **token).status_code == 302
    saved = SledaiAssessment.objects.get()
    assert saved.total == 16
    assert f"SLEDAI-2K total {saved.total} points" in sledai
    assert "Urinary casts +4" in sledai and "Increased DNA binding +2" in sledai
    assert "CASTS 4 + HEMAT 4 + PROT 4 + LOWCOMP 2 + DNA 2 = 16" in sledai
    w24_renal = RenalAssessment.objects.get(visit_id=w24)
    assert w24_renal.upcr_g_g.quantize(Decimal("0.01")) == Decimal("0.49")
    assert "UPCR 0.49 g/g" in renal
    assert f"eGFR {w24_renal.egfr} mL/min/1.73 m²" in renal
    assert w24_renal.response_category == "CRR"
    assert "Renal response complete renal response (week 24 against the baseline of 2026-03-03" in (
        renal
    )
    # A check that would refuse the save is shown, with the field's label, and no result.
    assert "Seizure: attributable to SLE : Say whether seizure is attributable to SLE." in refused
    assert "SLEDAI-2K total" not in refused
    # In the user's language.
    msvle.investigator.language = "es"
    msvle.investigator.save(update_fields=["language"])
    spanish = _text(
        client.post(f"{base}/renal/new/preview/", {"visit": w24, **RENAL}, **token).content.decode()
    )
    assert "Comprobaciones y resultados mientras escribe" in spanish
    assert "Respuesta renal respuesta renal completa (semana 24 frente a la basal" in spanish


def test_preview_is_refused_outside_the_site_and_to_roles_that_do_not_enter(
    client, msvle, participant
) -> None:
    w4 = participant.visits.get(code="W4").pk
    url = f"/casebook/{participant.pk}/sledai2k/new/preview/"
    for user, status in (
        (msvle.other_coordinator, 404),
        (msvle.pharmacist, 404),
        (msvle.monitor, 403),
    ):
        client.force_login(user)
        assert client.post(url, {"visit": w4, **SLEDAI}).status_code == status, user
    client.force_login(msvle.investigator)
    assert client.get(url).status_code == 405
    assert not SledaiAssessment.objects.exists()
