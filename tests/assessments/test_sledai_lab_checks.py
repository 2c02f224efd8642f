"""SLEDAI-2K against the same visit's laboratory and renal results: a tick the results
contradict is a warning, the warning an automatic query, and the query closes itself once the
tick or the result is corrected."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from assessments.models import SledaiAssessment
from assessments.services import form_save
from casebook.catalogue import form_type
from review.models import DataQuery, QueryStatus
from tests.assessments.test_renal_form import renal

NOW = datetime(2026, 9, 1, 10, 0, tzinfo=UTC)
DAY = date(2026, 4, 1)
QUIET_RENAL = {"urine_rbc_hpf": Decimal(1), "urine_wbc_hpf": Decimal(1), "rbc_casts": False}


def _labs(**values):
    return {"sample_date": DAY, **values}


def _renal(**values):
    return renal(DAY, "0.3", "g/g", "0.8", **{**QUIET_RENAL, **values})


# descriptor field -> (form, data where the results show it, data where they do not, the
# extra SLEDAI-2K fields a tick needs)
CASES = {
    "thromb": (
        "labs",
        _labs(platelets_value=Decimal(85), platelets_unit="10^9/L"),
        _labs(platelets_value=Decimal(100), platelets_unit="10^9/L"),
        {"thromb_sle": True},
    ),
    "leuk": (
        "labs",
        _labs(wbc_value=Decimal("2.6"), wbc_unit="10^9/L"),
        _labs(wbc_value=Decimal(3), wbc_unit="10^9/L"),
        {"leuk_sle": True},
    ),
    "lowcomp": (
        "labs",
        _labs(c3_value=Decimal(60), c3_unit="mg/dL", c3_lln=Decimal(90)),
        _labs(c3_value=Decimal(90), c3_unit="mg/dL", c3_lln=Decimal(90)),
        {},
    ),
    "dna": (
        "labs",
        _labs(anti_dsdna_value=Decimal(250), anti_dsdna_unit="IU/mL", anti_dsdna_uln=Decimal(100)),
        _labs(anti_dsdna_value=Decimal(100), anti_dsdna_unit="IU/mL", anti_dsdna_uln=Decimal(100)),
        {},
    ),
    "prot": (
        "labs",
        _labs(proteinuria_24h_value=Decimal(2300), proteinuria_24h_unit="mg/day"),
        # Exactly 0.5 g/24 h does not score.
        _labs(proteinuria_24h_value=Decimal(500), proteinuria_24h_unit="mg/day"),
        {},
    ),
    "hemat": (
        "renal",
        _renal(urine_rbc_hpf=Decimal(12)),
        _renal(urine_rbc_hpf=Decimal(5)),
        {"hemat_sle": True},
    ),
    "pyur": (
        "renal",
        _renal(urine_wbc_hpf=Decimal(8)),
        _renal(urine_wbc_hpf=Decimal(5)),
        {"pyur_sle": True},
    ),
    "casts": ("renal", _renal(rbc_casts=True), _renal(rbc_casts=False), {}),
}


def enter(team, participant, form, data, *, actor=None, **kwargs):
    return form_save(
        actor=actor or (team.investigator if form == "sledai2k" else team.coordinator),
        ftype=form_type(form),
        participant=participant,
        visit=participant.visits.get(code="W4"),
        data=data,
        now=kwargs.pop("now", NOW),
        **kwargs,
    )


def sledai(team, participant, ticks=None, **kwargs):
    data = {"assessment_date": DAY, "window_days": 10, **(ticks or {})}
    return enter(team, participant, "sledai2k", data, **kwargs)


def warned(record, name):
    return [w["message"] for w in record.warnings if w["field"] == name]


def automatic(name):
    return DataQuery.objects.filter(form_code="sledai2k", field_name=name, automatic=True)


@pytest.mark.parametrize("name", list(CASES))
def test_results_showing_an_unticked_descriptor_raise_a_query_the_tick_closes(
    msvle, participant, name
) -> None:
    form, present, _absent, needs = CASES[name]
    enter(msvle, participant, form, present)
    record = sledai(msvle, participant)
    [message] = warned(record, name)
    assert "This visit's results suggest" in message and "but it is not ticked" in message
    [query] = automatic(name)
    assert query.status == QueryStatus.OPEN
    record = sledai(
        msvle,
        participant,
        {name: True, **needs},
        expected_version=record.row_version,
        reason="Item missed at entry",
    )
    assert warned(record, name) == []
    query.refresh_from_db()
    assert query.status == QueryStatus.CLOSED


@pytest.mark.parametrize("name", list(CASES))
def test_a_tick_the_results_do_not_show_raises_a_query_the_result_closes(
    msvle, participant, name
) -> None:
    form, present, absent, needs = CASES[name]
    results = enter(msvle, participant, form, absent)
    record = sledai(msvle, participant, {name: True, **needs})
    [message] = warned(record, name)
    assert "is ticked, but this visit's results do not show it" in message
    [query] = automatic(name)
    # The lab corrects its result: the SLEDAI-2K is checked again without being changed.
    enter(
        msvle,
        participant,
        form,
        present,
        expected_version=results.row_version,
        reason="Result transcribed wrongly",
    )
    record.refresh_from_db()
    assert warned(record, name) == []
    assert record.row_version == 1
    query.refresh_from_db()
    assert query.status == QueryStatus.CLOSED


def test_results_entered_after_the_sledai_open_the_query_there(msvle, participant) -> None:
    record = sledai(msvle, participant)
    assert record.warnings == []
    enter(msvle, participant, "labs", CASES["thromb"][1])
    record.refresh_from_db()
    assert warned(record, "thromb")
    assert automatic("thromb").get().status == QueryStatus.OPEN


def test_a_descriptor_dated_earlier_in_the_window_may_be_absent_at_the_visit(
    msvle, participant
) -> None:
    enter(msvle, participant, "labs", CASES["thromb"][2])
    record = sledai(
        msvle, participant, {"thromb": True, "thromb_sle": True, "thromb_days_before": 6}
    )
    assert warned(record, "thromb") == []


def test_a_spot_upcr_stands_in_when_there_is_no_24_hour_protein(msvle, participant) -> None:
    enter(msvle, participant, "renal", renal(DAY, "113.12", "mg/mmol", "0.8", **QUIET_RENAL))
    record = sledai(msvle, participant)
    [message] = warned(record, "prot")
    assert "spot" not in message and "proteinuria 1 g/g > 0.5" in message
    record = sledai(
        msvle,
        participant,
        {"prot": True},
        expected_version=record.row_version,
        reason="Ticked",
    )
    assert warned(record, "prot") == []


def test_agreeing_ticks_and_results_raise_nothing(msvle, participant) -> None:
    enter(
        msvle,
        participant,
        "labs",
        {
            **CASES["thromb"][1],
            **CASES["leuk"][2],
            **CASES["lowcomp"][1],
            **CASES["dna"][2],
            **CASES["prot"][1],
        },
    )
    enter(msvle, participant, "renal", _renal(urine_rbc_hpf=Decimal(12)))
    record = sledai(
        msvle,
        participant,
        {"thromb": True, "thromb_sle": True, "lowcomp": True, "prot": True, "hemat": True,
         "hemat_sle": True},
    )  # fmt: skip
    assert record.warnings == []
    assert not DataQuery.objects.filter(form_code="sledai2k").exists()


def test_the_page_and_the_api_show_the_proposals(msvle, participant, client) -> None:
    enter(msvle, participant, "labs", CASES["thromb"][1])
    visit = participant.visits.get(code="W4")
    text = form_type("sledai2k").suggest(visit)
    assert "Thrombocytopenia yes (platelets 85 x10^9/L < 100)" in text
    client.force_login(msvle.investigator)
    # Before the SLEDAI-2K is entered, where it helps most.
    page = client.get(
        reverse("casebook:entry-new", args=[participant.pk, "sledai2k"]), {"visit": visit.pk}
    )
    assert page.status_code == 200
    assert "Thrombocytopenia yes (platelets 85 x10^9/L &lt; 100)" in page.content.decode()
    record = sledai(msvle, participant)
    answer = client.get(f"/api/v1/participants/{participant.pk}/forms/sledai2k/{record.pk}/")
    assert answer.status_code == 200
    assert "Thrombocytopenia yes" in answer.json()["suggestion"]
    (listed,) = client.get(f"/api/v1/participants/{participant.pk}/forms/sledai2k/").json()
    assert listed["suggestion"] == answer.json()["suggestion"]


def test_other_site_and_pharmacist_see_no_proposal(msvle, participant, client) -> None:
    enter(msvle, participant, "labs", CASES["thromb"][1])
    record = sledai(msvle, participant)
    for user in (msvle.other_coordinator, msvle.pharmacist):
        client.force_login(user)
        page = client.get(
            reverse("casebook:entry-edit", args=[participant.pk, "sledai2k", record.pk])
        )
        assert page.status_code in (403, 404)
        assert "Thrombocytopenia yes" not in page.content.decode()
    assert SledaiAssessment.objects.count() == 1
