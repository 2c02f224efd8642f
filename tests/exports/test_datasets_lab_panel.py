"""LB rows of the screening panel: ANA titre, CH50, albumin, 24-hour proteinuria, viral
serology, tuberculosis test and anti-HLA antibodies."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from assessments.models import LabResults
from tests.exports.dataset_fixtures import rows_of, save

SAVED = datetime(2026, 3, 3, 11, 0, tzinfo=UTC)


def _results_received(trial: Any, data: dict[str, Any]) -> None:
    """The selection visit's panel of P2, recorded as not done in the shared trial, entered
    once its results came in."""
    p2 = trial.p2
    record = LabResults.objects.get(participant=p2, visit__code="SEL")
    save(
        trial.team, "labs", p2, data, visit="SEL", record_id=record.pk,
        expected_version=record.row_version, reason="Results received", now=SAVED,
    )  # fmt: skip


def test_screening_panel_rows_with_codes_units_and_results(sdtm_trial) -> None:
    p2 = sdtm_trial.p2
    _results_received(sdtm_trial, {
        "sample_date": date(2026, 3, 2),
        "ana_result": "positive", "ana_titre": 320,
        "ch50_value": Decimal(35), "ch50_unit": "U/mL", "ch50_lln": Decimal(42),
        "albumin_value": Decimal(28), "albumin_unit": "g/L",
        "albumin_lln": Decimal(35), "albumin_uln": Decimal(50),
        "proteinuria_24h_value": Decimal(2300), "proteinuria_24h_unit": "mg/day",
        "hiv_result": "negative", "hbsag_result": "negative",
        "anti_hbc_result": "indeterminate", "hcv_result": "negative",
        "tb_method": "igra", "tb_result": "negative",
        "anti_hla_result": "positive", "anti_hla_mfi": 2500, "anti_hla_dsa": False,
    })  # fmt: skip
    for blinded in (True, False):
        lb = [
            row
            for row in rows_of(sdtm_trial.ctx(blinded=blinded), "LB")
            if row["USUBJID"] == sdtm_trial.usubjid(p2) and row["VISIT"] == "Selection"
        ]
        by_code = {row["LBTESTCD"]: row for row in lb}
        albumin = by_code["ALB"]
        assert (albumin["LBORRES"], albumin["LBORRESU"], albumin["LBORNRLO"]) == ("28", "g/L", "35")
        assert (albumin["LBSTRESN"], albumin["LBSTRESU"], albumin["LBSTNRLO"]) == (
            2.8,
            "g/dL",
            3.5,
        )
        assert (albumin["LBNRIND"], albumin["LBCAT"], albumin["LBSPEC"]) == (
            "LOW",
            "CHEMISTRY",
            "SERUM",
        )
        protein = by_code["PROT"]
        assert (protein["LBORRES"], protein["LBORRESU"]) == ("2300", "mg/day")
        assert (protein["LBSTRESN"], protein["LBSTRESU"], protein["LBSPEC"]) == (
            2.3,
            "g/day",
            "URINE",
        )
        assert protein["LBMETHOD"] == "24-HOUR URINE COLLECTION"
        ch50 = by_code["CH50"]
        assert (ch50["LBSTRESN"], ch50["LBSTRESU"], ch50["LBNRIND"]) == (35.0, "U/mL", "LOW")
        assert (by_code["ANA"]["LBORRES"], by_code["ANA"]["LBSTRESC"]) == ("1:320", "1:320")
        serology = ("HIV12AB", "HBSAG", "HBCAB", "HCAB")
        assert {code: by_code[code]["LBORRES"] for code in serology} == {
            "HIV12AB": "NEGATIVE",
            "HBSAG": "NEGATIVE",
            "HBCAB": "INDETERMINATE",
            "HCAB": "NEGATIVE",
        }
        assert by_code["HBSAG"]["LBCAT"] == "SEROLOGY"
        tb = by_code["MTBIGRA"]
        assert (tb["LBORRES"], tb["LBSPEC"], tb["LBMETHOD"]) == (
            "NEGATIVE",
            "BLOOD",
            "INTERFERON GAMMA RELEASE ASSAY",
        )
        assert "TBSKNTST" not in by_code
        assert by_code["HLAAB"]["LBORRES"] == "POSITIVE"
        assert (by_code["HLAABMFI"]["LBSTRESN"], by_code["HLAABMFI"]["LBORRESU"]) == (
            2500.0,
            "MFI",
        )
        # Donor-specific antibodies reveal the arm: a blinded export leaves that row out.
        if blinded:
            assert "HLADSA" not in by_code
        else:
            assert by_code["HLADSA"]["LBORRES"] == "NEGATIVE"


def test_a_negative_ana_and_a_skin_test(sdtm_trial) -> None:
    p2 = sdtm_trial.p2
    _results_received(sdtm_trial, {
        "sample_date": date(2026, 3, 2), "ana_result": "negative",
        "tb_method": "ppd", "tb_result": "positive",
    })  # fmt: skip
    lb = rows_of(sdtm_trial.ctx(), "LB")
    mine = {
        row["LBTESTCD"]: row
        for row in lb
        if row["USUBJID"] == sdtm_trial.usubjid(p2) and row["VISIT"] == "Selection"
    }
    assert mine["ANA"]["LBORRES"] == "NEGATIVE"
    assert (mine["TBSKNTST"]["LBORRES"], mine["TBSKNTST"]["LBSPEC"]) == ("POSITIVE", "SKIN")
    assert "HLAAB" not in mine and "HIV12AB" not in mine
