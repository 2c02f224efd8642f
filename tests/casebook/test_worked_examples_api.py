"""The worked examples of the domain specification, entered through the forms API: SLEDAI-2K
(section 1.3), renal response fixtures P1-P4 (section 2.7) and the CKD-EPI table (section 3)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine
from rest_framework.test import APIClient

from assessments.models import RenalAssessment
from tests.assessments.test_renal_form import enrolled_in_cohort
from tests.assessments.test_sledai_form import EXAMPLE_1, EXAMPLE_2, EXAMPLE_3
from trials.models import Participant

BASELINE_DAY = "2026-03-03"  # selection, the day before Day 0 (2026-03-04)
W24_DAY = "2026-08-19"  # Day 168
M12_DAY = "2027-03-04"  # trial B, Day 365
# Trial B's month-12 visit lies after the `after_week24` clock.
NOW_B = datetime(2027, 3, 10, 10, 0, tzinfo=UTC)


@pytest.fixture
def api() -> APIClient:
    return APIClient()


def forms_url(participant: Participant, code: str, suffix: str = "") -> str:
    return f"/api/v1/participants/{participant.pk}/forms/{code}/{suffix}"


def post(api, participant, code, data, visit_code=None):
    body = {"data": data}
    if visit_code is not None:
        body["visit"] = participant.visits.get(code=visit_code).pk
    return api.post(forms_url(participant, code), body, format="json")


def created(response) -> dict:
    assert response.status_code == 201, response.json()
    return response.json()


# --- SLEDAI-2K, section 1.3 -------------------------------------------------------------------

# Example 3 also has proteinuria of exactly 0.50 g/24 h, which is not above 0.5: not ticked.
EXAMPLE_3_AS_ENTERED = {**EXAMPLE_3, "prot": False}


@pytest.mark.usefixtures("after_week24")
@pytest.mark.parametrize(
    ("items", "window", "total", "scored"),
    [
        (EXAMPLE_1, 10, 16, {"PROT": 4, "HEMAT": 4, "CASTS": 4, "LOWCOMP": 2, "DNA": 2}),
        (
            EXAMPLE_2,
            10,
            12,
            {"ARTH": 4, "RASH": 2, "MUCUL": 2, "FEVER": 1, "LEUK": 1, "LOWCOMP": 2},
        ),
        (EXAMPLE_3_AS_ENTERED, 10, 2, {"ALOP": 2}),
    ],
    ids=["example-1", "example-2", "example-3-10-day"],
)
def test_sledai_worked_examples(api, msvle, participant, items, window, total, scored) -> None:
    api.force_login(msvle.investigator)
    data = {"assessment_date": "2026-04-01", "window_days": window, **items}
    body = created(post(api, participant, "sledai2k", data, "W4"))
    assert body["total"] == total
    assert body["window_days"] == window
    # The derivation names each scoring item with its weight, and nothing else.
    rule = body["derivation"]
    assert rule.endswith(f"= {total}")
    assert f"{window}-day window" in rule
    terms = rule.split(": ", 1)[1].rsplit(" = ", 1)[0].split(" + ")
    assert {term.split(" ")[0]: int(term.split(" ")[1]) for term in terms} == scored
    # What is stored is what a reader gets back.
    again = api.get(forms_url(participant, "sledai2k", f"{body['id']}/")).json()
    assert (again["total"], again["row_version"]) == (total, 1)


@pytest.mark.usefixtures("after_week24")
def test_a_window_the_protocol_does_not_use_is_refused(api, msvle, participant) -> None:
    """Example 3 scores 10 over 30 days, but these protocols look back 10 days."""
    api.force_login(msvle.investigator)
    data = {"assessment_date": "2026-04-01", "window_days": 30, **EXAMPLE_3_AS_ENTERED}
    answer = post(api, participant, "sledai2k", data, "W4")
    assert answer.status_code == 400
    assert "The protocol scores SLEDAI-2K over a 10-day look-back window, not 30 days." in str(
        answer.json()
    )


@pytest.mark.usefixtures("after_week24")
def test_sledai_example_3_says_why_the_other_items_do_not_score(api, msvle, participant) -> None:
    api.force_login(msvle.investigator)
    data = {"assessment_date": "2026-04-01", "window_days": 10, **EXAMPLE_3_AS_ENTERED}
    body = created(post(api, participant, "sledai2k", data, "W4"))
    warned = {w["field"]: w["message"] for w in body["warnings"]}
    assert "not attributable to SLE" in warned["pyur_sle"]
    assert "not attributable to SLE" in warned["thromb_sle"]
    assert "20 days before the visit, outside the 10-day window" in warned["seiz_days_before"]


# --- Renal response, section 2.7 --------------------------------------------------------------


def renal(day, upcr, unit, scr, scr_unit="mg/dL", **extra):
    return {
        "assessment_date": day,
        "specimen_type": "24h_urine",
        "upcr_value": upcr,
        "upcr_unit": unit,
        "serum_creatinine_value": scr,
        "creatinine_unit": scr_unit,
        **extra,
    }


def prednisone(mg):
    return {
        "medication": "Prednisone",
        "category": "glucocorticoid",
        "dose": mg,
        "dose_unit": "mg",
        "route": "oral",
        "frequency": "daily",
        "start_date": "2026-02",
        "ongoing": True,
    }


RITUXIMAB_WEEK_10 = {
    "medication": "Rituximab",
    "category": "rescue",
    "dose": "1000",
    "dose_unit": "mg",
    "route": "intravenous",
    "frequency": "once",
    "start_date": "2026-05-13",
    "end_date": "2026-05-13",
}
INACTIVE = {"urine_wbc_hpf": "1", "rbc_casts": False, "cellular_casts": False}

# The participant is female, born 1990-05-17: 35 at baseline, 36 at follow-up. Creatinine
# (mg/dL) is chosen so that CKD-EPI 2021 gives the eGFR of the table, to one decimal.
FIXTURES = {
    "P1": {
        "baseline": ("3.2", "g/g", "0.97"),
        "follow_up": ("0.40", "g/g", "0.93", {"urine_rbc_hpf": "3", **INACTIVE}),
        "conmeds": [prednisone("7.5")],
        "egfr": ("78.1", "81.7"),
    },
    "P2": {
        "baseline": ("4.0", "g/g", "1.13"),
        "follow_up": ("1.6", "g/g", "1.20", {"urine_rbc_hpf": "12", **INACTIVE}),
        "conmeds": [],
        "egfr": ("65.1", "60.2"),
    },
    "P3": {
        "baseline": ("2.4", "g/g", "0.82"),
        "follow_up": ("0.45", "g/g", "1.06", {"urine_rbc_hpf": "2", **INACTIVE}),
        "conmeds": [RITUXIMAB_WEEK_10],
        "egfr": ("95.6", "69.8"),
    },
    "P4": {
        # 350 mg/mmol = 3.094 g/g -> 55 mg/mmol = 0.486 g/g.
        "baseline": ("350", "mg/mmol", "0.79"),
        "follow_up": ("55", "mg/mmol", "0.80", {"urine_rbc_hpf": "2", **INACTIVE}),
        "conmeds": [prednisone("5")],
        "egfr": ("100.0", "97.9"),
    },
}
# Domain specification, table 2.7: the EULAR 2019 column and the trial B CR column.
EULAR = {"P1": "CRR", "P2": "PRR", "P3": "NR", "P4": "CRR"}
TRIAL_B_CR = {"P1": True, "P2": False, "P3": False, "P4": True}


def enter_fixture(api, participant, case, *, baseline_visit, follow_up_visit, day):
    fixture = FIXTURES[case]
    upcr, unit, scr = fixture["baseline"]
    baseline = created(
        post(api, participant, "renal", renal(BASELINE_DAY, upcr, unit, scr), baseline_visit)
    )
    for conmed in fixture["conmeds"]:
        created(post(api, participant, "conmed", conmed))
    upcr, unit, scr, extra = fixture["follow_up"]
    follow_up = created(
        post(api, participant, "renal", renal(day, upcr, unit, scr, **extra), follow_up_visit)
    )
    return baseline, follow_up


@pytest.mark.usefixtures("after_week24")
@pytest.mark.parametrize("case", sorted(FIXTURES))
def test_renal_fixtures_under_trial_a_rule_set(api, msvle, participant, case) -> None:
    api.force_login(msvle.investigator)
    baseline, w24 = enter_fixture(
        api, participant, case, baseline_visit="SEL", follow_up_visit="W24", day=W24_DAY
    )
    assert (baseline["egfr"], w24["egfr"]) == FIXTURES[case]["egfr"]
    assert w24["response_rule_set"] == "eular2019"
    assert w24["response_category"] == EULAR[case]
    assert (w24["response_baseline_date"], w24["response_week"]) == (BASELINE_DAY, 24)
    assert w24["response_reasons"], "the category comes with the conditions that decided it"
    assert f"week 24 against the baseline of {BASELINE_DAY}: {EULAR[case]}." in w24["derivation"]
    # The baseline has no response of its own, and says why.
    assert baseline["response_category"] == ""
    assert "precedes Day 0" in baseline["response_note"]
    # A later read gives the same derived values.
    listed = api.get(forms_url(participant, "renal")).json()
    by_id = {record["id"]: record for record in listed}
    assert by_id[w24["id"]]["response_category"] == EULAR[case]
    assert set(by_id) == {baseline["id"], w24["id"]}


@pytest.mark.usefixtures("after_week24")
def test_p4_in_mg_per_mmol_gives_crr_and_keeps_what_was_entered(api, msvle, participant) -> None:
    api.force_login(msvle.investigator)
    baseline, w24 = enter_fixture(
        api, participant, "P4", baseline_visit="SEL", follow_up_visit="W24", day=W24_DAY
    )
    assert (Decimal(w24["upcr_value"]), w24["upcr_unit"]) == (Decimal(55), "mg/mmol")
    assert Decimal(w24["upcr_g_g"]) == Decimal("0.4862093352")
    assert Decimal(baseline["upcr_g_g"]) == Decimal("3.0940594059")
    # Compared with the rounded "50 mg/mmol" this would be a partial response only.
    assert w24["response_category"] == "CRR"
    texts = [reason["text"] for reason in w24["response_reasons"]]
    assert "P1 0.486209 < T_CR 0.5: yes" in texts
    assert "UPCR 55 mg/mmol = 0.4862093352 g/g" in w24["derivation"]


@pytest.mark.parametrize("case", sorted(FIXTURES))
def test_renal_fixtures_under_trial_b_rule_set(api, mscrole, case) -> None:
    participant = enrolled_in_cohort(mscrole)
    with time_machine.travel(NOW_B, tick=False):
        api.force_login(mscrole.investigator)
        _baseline, m12 = enter_fixture(
            api, participant, case, baseline_visit="SCR", follow_up_visit="M12", day=M12_DAY
        )
    assert m12["response_rule_set"] == "nct03917797_cr"
    assert (m12["response_category"] == "CR") is TRIAL_B_CR[case]
    cr_b = [reason for reason in m12["response_reasons"] if reason["condition"] == "CR_B"]
    assert len(cr_b) == 1
    assert cr_b[0]["held"] is TRIAL_B_CR[case]
    assert m12["response_week"] == 52
    # The trial's secondary rule set agrees with the EULAR column.
    assert m12["secondary_responses"]["eular2019"]["category"] == EULAR[case]


# --- eGFR, section 3 ---------------------------------------------------------------------------


@pytest.mark.usefixtures("after_week24")
@pytest.mark.parametrize(
    ("sex", "age", "scr", "unit", "mg_dl", "egfr"),
    [
        ("F", 30, "0.8", "mg/dL", "0.800000", "101.6"),
        ("M", 45, "1.5", "mg/dL", "1.500000", "58.1"),
        ("F", 60, "0.6", "mg/dL", "0.600000", "102.7"),
        ("F", 55, "0.9", "mg/dL", "0.900000", "75.5"),
        ("F", 30, "70.7", "umol/L", "0.799774", "101.6"),
        ("M", 45, "132.6", "umol/L", "1.500000", "58.1"),
    ],
    ids=["f30-0.8", "m45-1.5", "f60-0.6", "f55-0.9", "f30-70.7umol", "m45-132.6umol"],
)
def test_egfr_table_on_a_renal_assessment(
    api, msvle, participant, sex, age, scr, unit, mg_dl, egfr
) -> None:
    # Born on the assessment day, `age` years earlier: the age is exact that day, and one
    # year less the day before.
    Participant.objects.filter(pk=participant.pk).update(
        sex=sex, date_of_birth=date(2026 - age, 8, 19)
    )
    api.force_login(msvle.investigator)
    body = created(post(api, participant, "renal", renal(W24_DAY, "1.2", "g/g", scr, unit), "W24"))
    assert body["age_years"] == age
    assert body["egfr"] == egfr
    assert Decimal(body["creatinine_mg_dl"]) == Decimal(mg_dl)
    assert (body["egfr_equation"], body["egfr_version"]) == ("CKD-EPI 2021 (race-free)", "2021")
    assert (
        f"eGFR {egfr} mL/min/1.73 m2 by CKD-EPI 2021 (race-free), age {age} years."
        in (body["derivation"])
    )


# --- Bad input --------------------------------------------------------------------------------


@pytest.mark.usefixtures("after_week24")
@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"upcr_unit": "mmol/L"}, "upcr_unit", "mmol/L"),
        ({"creatinine_unit": "mg/L"}, "creatinine_unit", "mg/L"),
        ({"upcr_value": "-1"}, "upcr_value", "greater than 0"),
        ({"serum_creatinine_value": "-0.9"}, "serum_creatinine_value", "greater than 0"),
        ({"urine_rbc_hpf": "-2"}, "urine_rbc_hpf", "cannot be negative"),
        ({"assessment_date": "2026-09-02"}, "assessment_date", "in the future"),
    ],
    ids=[
        "upcr-unit",
        "creatinine-unit",
        "negative-upcr",
        "negative-creatinine",
        "negative-rbc",
        "future-date",
    ],
)
def test_bad_renal_input_is_a_400_naming_the_field_and_writes_nothing(
    api, msvle, participant, change, field, message
) -> None:
    api.force_login(msvle.investigator)
    data = {**renal(W24_DAY, "0.40", "g/g", "0.93"), **change}
    response = post(api, participant, "renal", data, "W24")
    assert response.status_code == 400, response.json()
    fields = response.json()["error"]["fields"]
    assert field in fields, fields
    assert any(message in problem for problem in fields[field]), fields
    assert api.get(forms_url(participant, "renal")).json() == []
    assert not RenalAssessment.objects.exists()
    assert not RenalAssessment.history.exists()
    # The same data with the bad value corrected is accepted: the 400 was for that value.
    assert (
        post(api, participant, "renal", renal(W24_DAY, "0.40", "g/g", "0.93"), "W24").status_code
        == 201
    )
