"""Renal assessment through the form service: units, eGFR, the response against baseline."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from accounts.services import system_actor
from assessments.models import RenalAssessment
from assessments.rules.conmed import exposure_on
from assessments.rules.renal import rule_set_parameters
from assessments.selectors import can_read, form_history, form_values
from assessments.services import form_save, renal_responses_recompute
from casebook.catalogue import form_type
from ecrf.errors import DomainError, PermissionDeniedError
from tests.personas import NOW as SETUP_NOW
from tests.personas import PROTOCOLS, Team, make_team
from tests.world import DAY0, make_eligible, on_study, register, with_allocation
from trials.models import Participant
from trials.protocol import parse_protocol_text
from trials.services import participant_enrol, participant_randomize, protocol_load
from visits.services import participant_set_day0, visit_add_unscheduled

NOW = datetime(2026, 9, 1, 10, 0, tzinfo=UTC)
# Trial B's primary visit (month 12) is on 2027-03-04.
NOW_B = datetime(2027, 3, 10, 10, 0, tzinfo=UTC)
BASELINE_DAY = date(2026, 3, 3)  # selection, the day before Day 0
W24_DAY = date(2026, 8, 19)  # Day 168: week 24
M12_DAY = date(2027, 3, 4)  # Day 365


def save(team, participant, code, data, *, form="renal", now=NOW, **kwargs):
    return form_save(
        actor=kwargs.pop("actor", team.investigator),
        ftype=form_type(form),
        participant=participant,
        visit=participant.visits.get(code=code) if code else None,
        data=data,
        now=now,
        **kwargs,
    )


def renal(day, upcr, unit, scr, **extra):
    return {
        "assessment_date": day,
        "specimen_type": "24h_urine",
        "upcr_value": Decimal(upcr),
        "upcr_unit": unit,
        "serum_creatinine_value": Decimal(scr),
        "creatinine_unit": "mg/dL",
        **extra,
    }


def prednisone(mg):
    return {
        "medication": "Prednisone",
        "category": "glucocorticoid",
        "dose": Decimal(mg),
        "dose_unit": "mg",
        "route": "oral",
        "frequency": "daily",
        "start_date": "2026-02",
        "ongoing": True,
    }


RITUXIMAB_WEEK_10 = {
    "medication": "Rituximab",
    "category": "rescue",
    "dose": Decimal(1000),
    "dose_unit": "mg",
    "route": "intravenous",
    "frequency": "once",
    "start_date": "2026-05-13",
    "end_date": "2026-05-13",
}
INACTIVE = {"urine_wbc_hpf": Decimal(1), "rbc_casts": False, "cellular_casts": False}


# Domain specification table 2.7. Creatinine (mg/dL) is chosen so that CKD-EPI 2021 gives the
# table's eGFR for this participant (female, 35 at baseline, 36 at follow-up): baseline
# 0.97 -> 78.1, 1.13 -> 65.1, 0.82 -> 95.6, 0.79 -> 100.0; follow-up 0.93 -> 81.7,
# 1.20 -> 60.2, 1.06 -> 69.8, 0.80 -> 97.9.
CASES = {
    "P1": {
        "baseline": ("3.2", "g/g", "0.97"),
        "follow_up": ("0.40", "g/g", "0.93", {"urine_rbc_hpf": Decimal(3), **INACTIVE}),
        "conmeds": [prednisone("7.5")],
        "egfr": (Decimal("78.1"), Decimal("81.7")),
    },
    "P2": {
        "baseline": ("4.0", "g/g", "1.13"),
        "follow_up": ("1.6", "g/g", "1.20", {"urine_rbc_hpf": Decimal(12), **INACTIVE}),
        "conmeds": [],
        "egfr": (Decimal("65.1"), Decimal("60.2")),
    },
    "P3": {
        "baseline": ("2.4", "g/g", "0.82"),
        "follow_up": ("0.45", "g/g", "1.06", {"urine_rbc_hpf": Decimal(2), **INACTIVE}),
        "conmeds": [RITUXIMAB_WEEK_10],
        "egfr": (Decimal("95.6"), Decimal("69.8")),
    },
    "P4": {
        # 350 mg/mmol = 3.094 g/g -> 55 mg/mmol = 0.486 g/g: CRR only with exact conversion.
        "baseline": ("350", "mg/mmol", "0.79"),
        "follow_up": ("55", "mg/mmol", "0.80", {"urine_rbc_hpf": Decimal(2), **INACTIVE}),
        "conmeds": [prednisone("5")],
        "egfr": (Decimal("100.0"), Decimal("97.9")),
    },
}
EXPECTED = {
    #       EULAR   KDIGO  BLISS-LN  trial B (CR_B, else provisional EULAR PRR)
    "P1": ("CRR", "CR", "CRR", "CR"),
    "P2": ("PRR", "PR", "NR", "PR"),
    "P3": ("NR", "NR", "NR", "NR"),
    "P4": ("CRR", "CR", "CRR", "CR"),
}


def enter_case(team, participant, case, *, baseline_visit, follow_up_visit, day, now):
    upcr, unit, scr = case["baseline"]
    save(team, participant, baseline_visit, renal(BASELINE_DAY, upcr, unit, scr), now=now)
    for conmed in case["conmeds"]:
        save(team, participant, None, conmed, form="conmed", now=now)
    upcr, unit, scr, extra = case["follow_up"]
    return save(team, participant, follow_up_visit, renal(day, upcr, unit, scr, **extra), now=now)


def msvle_with_all_rule_sets() -> Team:
    """Trial A's protocol with KDIGO and BLISS-LN derived as secondary rule sets."""
    text = (PROTOCOLS / "nct03673748.yaml").read_text(encoding="utf-8")
    text = text.replace("code: MSVLE\n", "code: MSVLEX\n")
    text = text.replace("secondary_rule_sets: []", "secondary_rule_sets: [kdigo2021, bliss_ln]")
    definition = parse_protocol_text(text, source="msvlex.yaml")
    result = protocol_load(
        actor=system_actor(), definition=definition, source_name="msvlex.yaml", now=SETUP_NOW
    )
    return make_team(result.version.trial)


def enrolled_in_cohort(team: Team) -> Participant:
    """A trial B participant of the open-label cohort C1, with Day 0 set."""
    participant = participant_enrol(
        actor=team.coordinator, participant=make_eligible(team), now=SETUP_NOW
    )
    return participant_set_day0(
        actor=team.coordinator, participant=participant, day0=DAY0, now=SETUP_NOW
    )


@pytest.mark.parametrize("case", sorted(CASES))
def test_table_cases_under_trial_a_rule_set(msvle, participant, case) -> None:
    form = enter_case(
        msvle,
        participant,
        CASES[case],
        baseline_visit="SEL",
        follow_up_visit="W24",
        day=W24_DAY,
        now=NOW,
    )
    baseline = RenalAssessment.objects.get(visit__code="SEL")
    assert (baseline.egfr, form.egfr) == CASES[case]["egfr"]
    assert (form.response_rule_set, form.response_category) == ("eular2019", EXPECTED[case][0])
    assert form.response_baseline_date == BASELINE_DAY
    assert form.response_week == 24
    assert form.response_version
    assert form.secondary_responses == {}
    assert all({"condition", "held", "text"} == set(r) for r in form.response_reasons)
    # The baseline itself has no response, and says why.
    assert baseline.response_category == ""
    assert "precedes Day 0" in baseline.response_note


@pytest.mark.django_db
@pytest.mark.parametrize("case", sorted(CASES))
def test_table_cases_under_kdigo_and_bliss(case) -> None:
    team = msvle_with_all_rule_sets()
    participant = on_study(team)
    form = enter_case(
        team,
        participant,
        CASES[case],
        baseline_visit="SEL",
        follow_up_visit="W24",
        day=W24_DAY,
        now=NOW,
    )
    eular, kdigo, bliss, _trial_b = EXPECTED[case]
    assert form.response_category == eular
    secondary = form.secondary_responses
    assert (secondary["kdigo2021"]["category"], secondary["bliss_ln"]["category"]) == (
        kdigo,
        bliss,
    )
    tf = next(r for r in secondary["bliss_ln"]["reasons"] if r["condition"] == "TF")
    assert tf["held"] is (case == "P3")


@pytest.mark.parametrize("case", sorted(CASES))
def test_table_cases_under_trial_b_rule_set(mscrole, case) -> None:
    participant = enrolled_in_cohort(mscrole)
    form = enter_case(
        mscrole,
        participant,
        CASES[case],
        baseline_visit="SCR",
        follow_up_visit="M12",
        day=M12_DAY,
        now=NOW_B,
    )
    eular, _kdigo, _bliss, trial_b = EXPECTED[case]
    assert (form.response_rule_set, form.response_category) == ("nct03917797_cr", trial_b)
    # Only CR_B is registered; any other category rests on the EULAR PRR fallback.
    assert form.response_provisional is (trial_b != "CR")
    cr_b = next(r for r in form.response_reasons if r["condition"] == "CR_B")
    assert cr_b["held"] is (trial_b == "CR")
    assert form.secondary_responses["eular2019"]["category"] == eular
    assert form.response_week == 52


def test_p4_in_mg_per_mmol_is_converted_exactly_and_keeps_what_was_entered(
    msvle, participant
) -> None:
    form = enter_case(
        msvle,
        participant,
        CASES["P4"],
        baseline_visit="SEL",
        follow_up_visit="W24",
        day=W24_DAY,
        now=NOW,
    )
    assert (form.upcr_value, form.upcr_unit) == (Decimal("55"), "mg/mmol")
    assert form.upcr_g_g == Decimal("0.4862093352")
    # Compared against the rounded "50 mg/mmol" it would only be a partial response.
    assert form.response_category == "CRR"
    assert "P1 0.486209 < T_CR 0.5: yes" in [r["text"] for r in form.response_reasons]
    assert "UPCR 55 mg/mmol = 0.4862093352 g/g" in form_type("renal").explain(form)


def test_the_entry_page_shows_response_reasons_as_text(client, msvle, participant) -> None:
    form = enter_case(
        msvle,
        participant,
        CASES["P4"],
        baseline_visit="SEL",
        follow_up_visit="W24",
        day=W24_DAY,
        now=NOW,
    )
    client.force_login(msvle.monitor)
    page = client.get(f"/casebook/{participant.pk}/renal/{form.pk}/").content.decode()
    assert "P1 0.486209 &lt; T_CR 0.5: yes" in page
    assert "{&#x27;condition&#x27;" not in page and "&#x27;held&#x27;" not in page


def test_egfr_matches_the_published_example_from_micromol_per_litre(msvle) -> None:
    # Female, 30 years, creatinine 70.7 umol/L: CKD-EPI 2021 gives 101.6.
    with_allocation(msvle)
    participant = participant_randomize(
        actor=msvle.coordinator,
        participant=make_eligible(msvle, register(msvle, born=date(1995, 6, 1))),
        now=SETUP_NOW,
    )
    participant = participant_set_day0(
        actor=msvle.coordinator, participant=participant, day0=DAY0, now=SETUP_NOW
    )
    data = renal(BASELINE_DAY, "1.2", "g/g", "70.7")
    data["creatinine_unit"] = "umol/L"
    form = save(msvle, participant, "SEL", data)
    assert (form.age_years, form.egfr) == (30, Decimal("101.6"))
    assert form.creatinine_mg_dl == Decimal("0.799774")
    assert (form.serum_creatinine_value, form.creatinine_unit) == (Decimal("70.7"), "umol/L")
    assert (form.egfr_equation, form.egfr_version) == ("CKD-EPI 2021 (race-free)", "2021")


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"upcr_unit": "mmol/L"}, "upcr_unit", "mmol/L is not accepted here"),
        ({"creatinine_unit": "mg/L"}, "creatinine_unit", "mg/L is not accepted here"),
        ({"upcr_value": Decimal("-1")}, "upcr_value", "greater than 0"),
        ({"upcr_value": Decimal(0)}, "upcr_value", "greater than 0"),
        ({"serum_creatinine_value": Decimal(0)}, "serum_creatinine_value", "greater than 0"),
        ({"urine_rbc_hpf": Decimal(-2)}, "urine_rbc_hpf", "cannot be negative"),
        ({"assessment_date": date(2026, 9, 2)}, "assessment_date", "in the future"),
        ({"rbc_casts": True, "cellular_casts": False}, "cellular_casts", "RBC casts are cellular"),
    ],
)
def test_hard_checks_refuse_with_field_message_and_write_nothing(
    msvle, participant, change, field, message
) -> None:
    data = {**renal(W24_DAY, "0.4", "g/g", "0.93"), **change}
    with pytest.raises(DomainError) as caught:
        save(msvle, participant, "W24", data)
    assert message in caught.value.fields[field][0]
    assert not RenalAssessment.objects.exists()
    assert not RenalAssessment.history.exists()


def test_soft_checks_are_kept_as_warnings(msvle, participant) -> None:
    data = renal(BASELINE_DAY, "1800", "mg/mmol", "10.5", urine_rbc_hpf=Decimal(150))
    form = save(msvle, participant, "SEL", data)
    warned = {w["field"]: w["message"] for w in form.warnings}
    assert "15.91 g/g is unusual" in warned["upcr_value"]
    assert "10.5 mg/dL is unusual" in warned["serum_creatinine_value"]
    assert "150 RBC/hpf is unusual" in warned["urine_rbc_hpf"]
    assert RenalAssessment.objects.get().upcr_g_g == Decimal("15.9123055163")


def test_no_baseline_means_no_response_and_says_why(msvle, participant) -> None:
    form = save(msvle, participant, "W24", renal(W24_DAY, "0.4", "g/g", "0.93"))
    assert form.egfr == Decimal("81.7")
    assert (form.response_category, form.response_provisional) == ("", None)
    assert "no renal assessment is dated before Day 0 (2026-03-04)" in form.response_note
    assert "no renal assessment is dated before Day 0" in form_type("renal").explain(form)


def test_the_last_assessment_before_day0_is_the_baseline(msvle, participant) -> None:
    save(msvle, participant, "SEL", renal(date(2026, 3, 2), "3.2", "g/g", "0.65"))
    unscheduled = visit_add_unscheduled(
        actor=msvle.coordinator,
        parent=participant.visits.get(code="SEL"),
        actual_date=BASELINE_DAY,
        reason="Repeat urine before dosing",
        forms=["renal"],
        now=NOW,
    )
    form_save(
        actor=msvle.investigator,
        ftype=form_type("renal"),
        participant=participant,
        visit=unscheduled,
        data=renal(BASELINE_DAY, "3.2", "g/g", "0.97"),
        now=NOW,
    )
    form = save(msvle, participant, "W24", renal(W24_DAY, "0.4", "g/g", "0.93"))
    # Against the earlier baseline (eGFR 117.6) 81.7 would fail GFR_ok; against the last one
    # (78.1) it passes.
    assert form.response_baseline_date == BASELINE_DAY
    assert form.response_category == "CRR"


def test_changing_the_baseline_recomputes_later_responses_with_history(msvle, participant) -> None:
    enter_case(
        msvle,
        participant,
        CASES["P1"],
        baseline_visit="SEL",
        follow_up_visit="W24",
        day=W24_DAY,
        now=NOW,
    )
    w24 = RenalAssessment.objects.get(visit__code="W24")
    assert (w24.response_category, w24.row_version) == ("CRR", 1)
    baseline = RenalAssessment.objects.get(visit__code="SEL")
    # Baseline creatinine corrected from 0.97 to 0.65 mg/dL: G0 117.6, and 81.7 < 0.9*G0.
    save(
        msvle,
        participant,
        "SEL",
        {"serum_creatinine_value": Decimal("0.65")},
        expected_version=baseline.row_version,
        reason="Transcription error",
        actor=msvle.coordinator,
    )
    w24.refresh_from_db()
    assert (w24.response_category, w24.row_version) == ("NR", 2)
    history = form_history(msvle.monitor, form_type("renal"), w24)
    assert [entry.kind for entry in history] == ["created", "changed"]
    recompute = history[1]
    assert recompute.reason == "Recomputed: baseline changed"
    changes = {c.field: (c.old, c.new) for c in recompute.changes}
    assert changes["response_category"] == ("CRR", "NR")
    assert "serum_creatinine_value" not in changes
    # Nothing left to recompute: a second run writes nothing.
    again = renal_responses_recompute(
        participant=participant, actor=system_actor(), now=NOW, reason="x"
    )
    assert again == []


def test_rescue_entered_later_turns_the_response_into_non_response(msvle, participant) -> None:
    enter_case(
        msvle,
        participant,
        CASES["P1"],
        baseline_visit="SEL",
        follow_up_visit="W24",
        day=W24_DAY,
        now=NOW,
    )
    save(msvle, participant, None, RITUXIMAB_WEEK_10, form="conmed")
    w24 = RenalAssessment.objects.get(visit__code="W24")
    assert (w24.response_category, w24.row_version) == ("NR", 2)
    assert "Rescue therapy on or before 2026-08-19: Rituximab." in w24.response_note
    rescue = next(r for r in w24.response_reasons if r["condition"].startswith("rescue"))
    assert rescue["held"] is True
    assert w24.history.first().history_change_reason == (
        "Recomputed: concomitant medication changed"
    )


def test_rescue_started_after_the_assessment_does_not_count(msvle, participant) -> None:
    enter_case(
        msvle,
        participant,
        CASES["P1"],
        baseline_visit="SEL",
        follow_up_visit="W4",
        day=date(2026, 4, 1),
        now=NOW,
    )
    save(msvle, participant, None, RITUXIMAB_WEEK_10, form="conmed")
    w4 = RenalAssessment.objects.get(visit__code="W4")
    assert (w4.response_category, w4.row_version) == ("CRR", 1)


def test_a_partial_medication_date_counts_conservatively_and_is_provisional(
    msvle, participant
) -> None:
    enter_case(
        msvle,
        participant,
        CASES["P1"],
        baseline_visit="SEL",
        follow_up_visit="W24",
        day=W24_DAY,
        now=NOW,
    )
    # Started "in August 2026": perhaps before the assessment of 19 August, perhaps after.
    save(
        msvle,
        participant,
        None,
        {**RITUXIMAB_WEEK_10, "start_date": "2026-08", "end_date": "2026-08"},
        form="conmed",
    )
    w24 = RenalAssessment.objects.get(visit__code="W24")
    assert (w24.response_category, w24.response_provisional) == ("NR", True)
    assert "may have started after 2026-08-19" in w24.response_note


def test_trial_b_needs_the_prednisone_dose_and_says_so(mscrole) -> None:
    participant = enrolled_in_cohort(mscrole)
    save(mscrole, participant, "SCR", renal(BASELINE_DAY, "3.2", "g/g", "0.97"), now=NOW_B)
    # Prednisolone 10 mg twice a day: no daily equivalent, so the dose is unknown.
    save(
        mscrole,
        participant,
        None,
        {**prednisone("10"), "medication": "Prednisolone", "frequency": "bid"},
        form="conmed",
        now=NOW_B,
    )
    form = save(
        mscrole,
        participant,
        "M12",
        renal(M12_DAY, "0.4", "g/g", "0.93", urine_rbc_hpf=Decimal(2), **INACTIVE),
        now=NOW_B,
    )
    assert form.response_category == ""
    assert "prednisone_mg_day required by the nct03917797_cr rule set" in form.response_note
    assert "Prednisolone has no daily prednisone equivalent" in form.response_note
    # The secondary EULAR rule set does not need the dose.
    assert form.secondary_responses["eular2019"]["category"] == "CRR"


def glucocorticoids_and_others_around(day: date) -> list[dict]:
    """Prednisone 5 mg and methylprednisolone 6 mg (7.5 mg prednisone) taken on `day`; beside
    them prednisone 20 mg that ended the day before and mycophenolate, which is no
    glucocorticoid."""
    return [
        prednisone("5"),
        {**prednisone("6"), "medication": "Methylprednisolone"},
        {
            **prednisone("20"),
            "start_date": "2026-02-20",
            "end_date": (day - timedelta(days=1)).isoformat(),
            "ongoing": False,
        },
        {
            "medication": "Mycophenolate mofetil",
            "category": "immunosuppressant",
            "dose": Decimal(1000),
            "dose_unit": "mg",
            "route": "oral",
            "frequency": "daily",
            "start_date": "2026-02",
            "ongoing": True,
        },
    ]


def test_the_prednisone_dose_of_a_day_sums_the_glucocorticoids_taken_that_day(
    msvle, participant
) -> None:
    for data in glucocorticoids_and_others_around(W24_DAY):
        save(msvle, participant, None, data, form="conmed")
    assert exposure_on(participant, W24_DAY).prednisone_mg_day == Decimal("12.5")
    # On its last day the 20 mg entry still counts.
    assert exposure_on(participant, W24_DAY - timedelta(days=1)).prednisone_mg_day == Decimal(
        "32.5"
    )


def test_trial_b_compares_the_summed_prednisone_dose_with_its_limit(mscrole) -> None:
    participant = enrolled_in_cohort(mscrole)
    for data in glucocorticoids_and_others_around(M12_DAY):
        save(mscrole, participant, None, data, form="conmed", now=NOW_B)
    form = enter_case(
        mscrole,
        participant,
        {**CASES["P1"], "conmeds": []},
        baseline_visit="SCR",
        follow_up_visit="M12",
        day=M12_DAY,
        now=NOW_B,
    )
    # P1 is a complete response but for the dose: 5 + 7.5 = 12.5 mg/day is above 10.
    cr_b = next(r for r in form.response_reasons if r["condition"] == "CR_B")
    assert cr_b["held"] is False
    assert "prednisone mg/day 12.5 <= 10.0: no" in [r["text"] for r in form.response_reasons]
    assert form.response_category != "CR"


def wrong_users(team: Team) -> tuple:
    """Those who may not enter a renal assessment of the participant: wrong role, other site."""
    return (
        team.monitor,
        team.statistician,
        team.pharmacist,
        team.other_coordinator,
        team.medical_monitor,
        team.unblinded_statistician,
    )


def test_wrong_roles_and_other_site_cannot_enter(msvle, participant) -> None:
    for actor in wrong_users(msvle):
        with pytest.raises(PermissionDeniedError):
            save(msvle, participant, "W24", renal(W24_DAY, "0.4", "g/g", "0.93"), actor=actor)
    assert not RenalAssessment.objects.exists()


def test_efficacy_form_hidden_from_pharmacist_and_readable_by_monitor(msvle, participant) -> None:
    form = save(msvle, participant, "SEL", renal(BASELINE_DAY, "3.2", "g/g", "0.97"))
    renal_type = form_type("renal")
    assert not can_read(msvle.pharmacist, renal_type, participant)
    values = form_values(msvle.monitor, renal_type, form)
    assert (values["upcr_value"], values["egfr"]) == (Decimal("3.2000"), Decimal("78.1"))


def test_protocol_parameters_reach_the_calculator_under_its_own_names() -> None:
    params = {
        "responder_categories": ["CRR", "PRR"],
        "crr_upcr_max_g_per_g": 0.7,
        "rescue_is_non_response": False,
        "gfr_ok_egfr_min": 90,
    }
    assert rule_set_parameters("eular2019", params) == {
        "t_cr": 0.7,
        "rescue_is_failure": False,
        "gfr_ok_egfr_min": 90,
    }
    assert rule_set_parameters("eular2019", {"gfr_ok_ratio_to_baseline_min": 0.9}) == {
        "gfr_ok_ratio_min": 0.9
    }
    assert rule_set_parameters("nct03917797_cr", {"cr_prednisone_max_mg_per_day": 7.5}) == {
        "prednisone_limit_mg": 7.5
    }
    # Trial B's registered CR thresholds, which its partial response now also uses.
    trial_b = {
        "cr_upcr_max_g_per_g": 0.5,
        "cr_egfr_min": 120,
        "cr_egfr_ratio_to_baseline_min": 0.8,
        "cr_egfr_unit_registered": "ml/min/m2",
        "pr_rule": "eular2019_prr",
    }
    assert rule_set_parameters("nct03917797_cr", trial_b) == {
        "cr_upcr_max": 0.5,
        "cr_egfr_min": 120,
        "cr_egfr_ratio_min": 0.8,
        "cr_egfr_unit_registered": "ml/min/m2",
        "pr_rule": "eular2019_prr",
    }
    # A calculator's own parameter name is taken as it is.
    assert rule_set_parameters("kdigo2021", {"tol": 0.1, "cr_egfr_min": 120}) == {"tol": 0.1}
