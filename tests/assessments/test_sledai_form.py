"""SLEDAI-2K entered through the form service: worked examples, checks, versions, history."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from assessments.models import SledaiAssessment
from assessments.selectors import form_history, form_values
from assessments.services import form_not_done, form_save
from casebook.catalogue import form_type
from casebook.grid import casebook_grid
from ecrf.errors import ConflictError, DomainError, InvalidTransitionError, PermissionDeniedError
from tests.personas import NOW as SETUP_NOW
from tests.personas import PROTOCOLS
from tests.world import ENTERED, on_study
from trials.protocol import parse_protocol_text
from trials.services import protocol_load

NOW = datetime(2026, 9, 1, 10, 0, tzinfo=UTC)


def visit(participant, code):
    return participant.visits.get(code=code)


def save(team, participant, code, data, **kwargs):
    return form_save(
        actor=kwargs.pop("actor", team.investigator),
        ftype=form_type("sledai2k"),
        participant=participant,
        visit=visit(participant, code),
        data=data,
        now=kwargs.pop("now", NOW),
        **kwargs,
    )


EXAMPLE_1 = {
    "prot": True,
    "hemat": True,
    "hemat_sle": True,
    "casts": True,
    "lowcomp": True,
    "dna": True,
}
EXAMPLE_2 = {
    "arth": True,
    "rash": True,
    "mucul": True,
    "fever": True,
    "fever_sle": True,
    "leuk": True,
    "leuk_sle": True,
    "lowcomp": True,
}
EXAMPLE_3 = {
    "pyur": True,
    "pyur_sle": False,  # positive urine culture
    "thromb": True,
    "thromb_sle": False,  # drug-related
    "alop": True,  # persistent alopecia
    "seiz": True,
    "seiz_sle": True,
    "seiz_days_before": 20,
}


@pytest.mark.parametrize(
    ("items", "window", "total"),
    [(EXAMPLE_1, 10, 16), (EXAMPLE_2, 10, 12), (EXAMPLE_3, 10, 2)],
    ids=["example-1", "example-2", "example-3-10d"],
)
def test_worked_examples_are_scored_on_the_server(msvle, participant, items, window, total) -> None:
    form = save(
        msvle,
        participant,
        "W4",
        {"assessment_date": date(2026, 4, 1), "window_days": window, **items},
    )
    assert form.total == total
    assert form.calculator == "SLEDAI-2K"
    assert form.calculator_version
    assert sum(c["weight"] for c in form.contributions) == total


def thirty_day_participant(team):
    """A participant under an amendment whose SLEDAI-2K look-back is 30 days."""
    text = (PROTOCOLS / "nct03673748.yaml").read_text(encoding="utf-8")
    text = text.replace('version: "1.6"', 'version: "1.7"', 1)
    old = "  sledai_window_days:\n    value: 10\n"
    assert text.count(old) == 1
    text = text.replace(old, "  sledai_window_days:\n    value: 30\n", 1)
    definition = parse_protocol_text(text, source="nct03673748-30d.yaml")
    protocol_load(actor=team.trial_admin, definition=definition, source_name="30d", now=SETUP_NOW)
    participant = on_study(team)
    assert participant.protocol_version.label == "1.7"
    return participant, definition


def test_example_3_over_the_30_day_window_the_protocol_sets(msvle) -> None:
    participant, definition = thirty_day_participant(msvle)
    data = {"assessment_date": date(2026, 4, 1), **EXAMPLE_3}
    form = save(msvle, participant, "W4", {**data, "window_days": 30})
    assert (form.total, form.window_days) == (10, 30)
    assert form_type("sledai2k").initial(definition) == {"window_days": 30}


def test_a_window_other_than_the_protocols_is_refused(msvle, participant) -> None:
    data = {"assessment_date": date(2026, 4, 1), **EXAMPLE_3, "window_days": 30}
    with pytest.raises(DomainError) as caught:
        save(msvle, participant, "W4", data)
    assert caught.value.fields == {
        "window_days": [
            "The protocol scores SLEDAI-2K over a 10-day look-back window, not 30 days."
        ]
    }
    assert not SledaiAssessment.objects.exists()


def test_a_new_sledai_page_starts_on_the_protocols_window(msvle, participant, client) -> None:
    client.force_login(msvle.investigator)
    w4 = visit(participant, "W4")
    page = client.get(f"/casebook/{participant.pk}/sledai2k/new/?visit={w4.pk}")
    assert page.status_code == 200
    assert page.context["form"].initial["window_days"] == 10


def test_example_3_keeps_warnings_for_items_that_do_not_score(msvle, participant) -> None:
    form = save(msvle, participant, "W4", {"assessment_date": date(2026, 4, 1), **EXAMPLE_3})
    warned = {w["field"] for w in form.warnings}
    assert {"pyur_sle", "thromb_sle", "seiz_days_before"} <= warned


def test_present_item_with_exclusion_needs_the_attribution(msvle, participant) -> None:
    with pytest.raises(DomainError) as caught:
        save(msvle, participant, "W4", {"assessment_date": date(2026, 4, 1), "seiz": True})
    assert caught.value.fields == {"seiz_sle": ["Say whether seizure is attributable to SLE."]}
    assert not SledaiAssessment.objects.exists()


def test_bad_dates_are_refused_with_field_messages(msvle, participant) -> None:
    with pytest.raises(DomainError) as future:
        save(msvle, participant, "W4", {"assessment_date": date(2026, 9, 2)})
    assert future.value.fields["assessment_date"] == ["The date is in the future."]
    with pytest.raises(DomainError) as early:
        save(msvle, participant, "W4", {"assessment_date": date(2026, 3, 1)})
    assert "before informed consent" in early.value.fields["assessment_date"][0]
    with pytest.raises(DomainError) as missing:
        save(msvle, participant, "W4", {"window_days": 10})
    assert missing.value.fields == {"assessment_date": ["Required."]}
    assert not SledaiAssessment.objects.exists()


def test_date_outside_the_visit_window_is_accepted_with_a_warning(msvle, participant) -> None:
    # Week 4 is Day 28 (1 April) +/- 3 days.
    form = save(msvle, participant, "W4", {"assessment_date": date(2026, 4, 10)})
    assert {
        "field": "assessment_date",
        "message": "The date lies outside the window of visit W4.",
    } in [{"field": w["field"], "message": w["message"]} for w in form.warnings]


def test_unknown_field_and_visit_without_the_form_are_refused(msvle, participant) -> None:
    with pytest.raises(DomainError, match="no field"):
        save(msvle, participant, "W4", {"assessment_date": date(2026, 4, 1), "total": 99})
    with pytest.raises(DomainError, match="does not collect SLEDAI-2K"):
        save(msvle, participant, "W1", {"assessment_date": date(2026, 3, 11)})


def test_change_needs_version_and_reason_and_stale_version_conflicts(msvle, participant) -> None:
    first = save(msvle, participant, "W4", {"assessment_date": date(2026, 4, 1), **EXAMPLE_1})
    assert first.row_version == 1
    with pytest.raises(DomainError, match="reason"):
        save(msvle, participant, "W4", {"dna": False}, expected_version=1)
    second = save(
        msvle, participant, "W4", {"dna": False}, expected_version=1, reason="Lab range misread"
    )
    assert (second.row_version, second.total) == (2, 14)
    with pytest.raises(ConflictError, match="Reload it"):
        save(msvle, participant, "W4", {"dna": True}, expected_version=1, reason="Stale edit")
    form = SledaiAssessment.objects.get()
    assert (form.row_version, form.dna, form.total) == (2, False, 14)


def test_history_shows_who_when_old_new_and_reason(msvle, participant) -> None:
    form = save(msvle, participant, "W4", {"assessment_date": date(2026, 4, 1), **EXAMPLE_1})
    save(
        msvle,
        participant,
        "W4",
        {"dna": False},
        expected_version=1,
        reason="Lab range misread",
        actor=msvle.coordinator,
    )
    history = form_history(msvle.monitor, form_type("sledai2k"), form)
    assert [entry.kind for entry in history] == ["created", "changed"]
    change = history[1]
    assert change.reason == "Lab range misread"
    assert change.who == f"{msvle.coordinator.display_name()} ({msvle.coordinator.username})"
    # The clinical total leaves out DNA binding, so it does not change.
    assert {(c.field, c.old, c.new) for c in change.changes} == {
        ("dna", True, False),
        ("total", 16, 14),
    }


def test_not_done_with_reason_and_not_over_data(msvle, participant) -> None:
    with pytest.raises(DomainError, match="why"):
        form_not_done(
            actor=msvle.coordinator,
            ftype=form_type("sledai2k"),
            participant=participant,
            visit=visit(participant, "W4"),
            reason="",
            now=NOW,
        )
    form = form_not_done(
        actor=msvle.coordinator,
        ftype=form_type("sledai2k"),
        participant=participant,
        visit=visit(participant, "W4"),
        reason="Patient too unwell for full exam",
        now=NOW,
    )
    assert (form.entry_status, form.total) == ("not_done", None)
    entered = save(
        msvle,
        participant,
        "W4",
        {"assessment_date": date(2026, 4, 1)},
        expected_version=1,
        reason="Exam done after all",
    )
    assert entered.entry_status == "entered"
    with pytest.raises(InvalidTransitionError):
        form_not_done(
            actor=msvle.coordinator,
            ftype=form_type("sledai2k"),
            participant=participant,
            visit=visit(participant, "W4"),
            reason="x",
            expected_version=2,
            now=NOW,
        )


def test_wrong_role_and_wrong_site_cannot_enter(msvle, participant) -> None:
    for actor in (
        msvle.monitor,
        msvle.statistician,
        msvle.pharmacist,
        msvle.other_coordinator,
        msvle.medical_monitor,
    ):
        with pytest.raises(PermissionDeniedError):
            save(msvle, participant, "W4", {"assessment_date": date(2026, 4, 1)}, actor=actor)


def test_grid_shows_states_in_constant_queries(
    msvle, participant, django_assert_num_queries
) -> None:
    save(msvle, participant, "W4", {"assessment_date": date(2026, 4, 1)})
    # visits (1); one per form model (12: medical history, SLEDAI-2K, renal, labs, vital
    # signs, pregnancy, infusion, concomitant medication, adverse events, pregnancy reports,
    # deviations, end of study); consent and eligibility counts (1); review marks (4:
    # queries, SDV marks, signatures, locks).
    with django_assert_num_queries(18):
        rows = casebook_grid(participant, now=ENTERED)
    cells = {(row.visit.code, cell.form_code): cell.status for row in rows for cell in row.cells}
    assert cells[("W4", "sledai2k")] == "entered"
    assert cells[("W8", "sledai2k")] == "missing"
    assert cells[("SEL", "consent")] == "entered"


def test_values_are_readable_by_blinded_monitor(msvle, participant) -> None:
    form = save(msvle, participant, "W4", {"assessment_date": date(2026, 4, 1), **EXAMPLE_1})
    values = form_values(msvle.monitor, form_type("sledai2k"), form)
    assert values["total"] == 16
    assert values["prot"] is True
