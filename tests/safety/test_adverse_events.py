"""Adverse events through the form service: checks, seriousness, SUSAR, roles, versions, scope."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from assessments.selectors import form_history, revealing_fields
from casebook.catalogue import form_type
from ecrf.errors import ConflictError, DomainError, NotFoundError, PermissionDeniedError
from safety.models import CODED_FIELDS, AdverseEvent
from safety.selectors import adverse_event_get, ae_versions, participant_adverse_events
from tests.safety.events import NOW, data_manager, enter, follow_up
from tests.world import make_eligible

AWARE = datetime(2026, 4, 18, 8, 30, tzinfo=UTC)
SPONSOR_AWARE = datetime(2026, 4, 19, 7, 15, tzinfo=UTC)

HEADACHE = {
    "verbatim_term": "Headache after infusion",
    "onset_date": "2026-04",
    "ongoing": True,
    "ctcae_grade": 2,
    "investigator_causality": "possible",
    "action_taken": "not_applicable",
    "outcome": "recovering",
}
PNEUMONIA = {
    "verbatim_term": "Pneumonia",
    "onset_date": "2026-04-17",
    "ctcae_grade": 3,
    "hospitalisation": True,
    "investigator_causality": "possible",
    "outcome": "recovering",
    "ongoing": True,
    "site_awareness_at": AWARE,
}


def refused(team, participant, data, **kwargs) -> dict[str, list[str]]:
    with pytest.raises(DomainError) as caught:
        enter(team, participant, data, **kwargs)
    return caught.value.fields


# Entry and edit checks


def test_coordinator_enters_an_ae_with_coded_fields_left_empty(msvle, participant) -> None:
    ae = enter(msvle, participant, HEADACHE)
    stored = AdverseEvent.objects.get(pk=ae.pk)
    assert stored.verbatim_term == "Headache after infusion"
    assert stored.onset_date == "2026-04"  # partial, not imputed to a day
    assert {name: getattr(stored, name) for name in CODED_FIELDS} == dict.fromkeys(CODED_FIELDS, "")
    assert (stored.serious, stored.related, stored.susar) == (False, True, False)
    assert (stored.sae_report_due_at, stored.susar_due_at) == (None, None)
    assert (stored.row_version, stored.entered_at, stored.visit) == (1, NOW, None)
    assert stored.warnings == []


def test_verbatim_term_is_required(msvle, participant) -> None:
    without = {key: value for key, value in HEADACHE.items() if key != "verbatim_term"}
    assert refused(msvle, participant, without) == {"verbatim_term": ["Required."]}
    assert refused(msvle, participant, {**HEADACHE, "verbatim_term": "   "}) == {
        "verbatim_term": ["Required."]
    }
    assert not AdverseEvent.objects.exists()


@pytest.mark.parametrize("bad", ["2026-13", "2026-02-30", "26-04", "2026-4"])
def test_impossible_partial_dates_are_refused_with_a_field_message(msvle, participant, bad) -> None:
    fields = refused(msvle, participant, {**HEADACHE, "onset_date": bad})
    assert fields == {"onset_date": ["Give a real date as YYYY, YYYY-MM or YYYY-MM-DD."]}
    assert not AdverseEvent.objects.exists()


@pytest.mark.parametrize(
    ("onset", "end", "ok"),
    [
        ("2026-04-17", "2026-04-10", False),
        ("2026-04", "2026-03-30", False),
        ("2026-04-17", "2026-04", True),  # same month: not comparable further
        ("2026-04", "2026-04-01", True),
        ("2026-04-10", "2026-04-10", True),
    ],
)
def test_end_before_onset_is_refused_when_comparable(msvle, participant, onset, end, ok) -> None:
    data = {**HEADACHE, "onset_date": onset, "end_date": end, "ongoing": False}
    data["outcome"] = "recovered"
    if ok:
        assert enter(msvle, participant, data).end_date == end
    else:
        assert refused(msvle, participant, data) == {
            "end_date": [f"The end is before the onset ({onset})."]
        }
        assert not AdverseEvent.objects.exists()


def test_future_onset_is_refused_on_the_site_calendar(msvle, participant) -> None:
    for future in ("2026-04-21", "2026-05", "2027"):
        fields = refused(msvle, participant, {**HEADACHE, "onset_date": future})
        assert fields == {"onset_date": ["The date is in the future."]}
    # 23:30 UTC is already 21 April in Madrid, where the site is.
    late_evening = datetime(2026, 4, 20, 23, 30, tzinfo=UTC)
    ae = enter(msvle, participant, {**HEADACHE, "onset_date": "2026-04-21"}, now=late_evening)
    assert ae.onset_date == "2026-04-21"


def test_onset_before_consent_is_kept_with_a_medical_history_warning(msvle, participant) -> None:
    ae = enter(msvle, participant, {**HEADACHE, "onset_date": "2026-02-27"})
    assert [{k: w[k] for k in ("field", "message")} for w in ae.warnings] == [
        {
            "field": "onset_date",
            "message": "Onset is before informed consent (2026-03-02): is this medical history?",
        }
    ]
    # March 2026 may be on or after consent (2 March): no warning.
    assert enter(msvle, participant, {**HEADACHE, "onset_date": "2026-03"}).warnings == []


def test_ongoing_event_with_an_end_date_is_refused(msvle, participant) -> None:
    fields = refused(msvle, participant, {**HEADACHE, "end_date": "2026-04-19"})
    assert fields == {"end_date": ["An ongoing event has no end date."]}
    fields = refused(msvle, participant, {**HEADACHE, "outcome": "recovered"})
    assert fields == {"ongoing": ["An event with outcome recovered is not ongoing."]}


def test_grade_5_needs_a_fatal_outcome_and_the_death_criterion(msvle, participant) -> None:
    data = {**PNEUMONIA, "ctcae_grade": 5, "ongoing": False}
    fields = refused(msvle, participant, data)
    assert fields == {
        "outcome": ["Grade 5 is death: the outcome must be fatal."],
        "death": ["Grade 5 is death: tick the death seriousness criterion."],
    }
    fields = refused(msvle, participant, {**data, "outcome": "fatal"})
    assert fields == {
        "death": [
            "Grade 5 is death: tick the death seriousness criterion.",
            "A fatal event is serious: tick the death criterion.",
        ]
    }
    assert not AdverseEvent.objects.exists()
    ae = enter(msvle, participant, {**data, "outcome": "fatal", "death": True})
    assert (ae.ctcae_grade, ae.serious) == (5, True)


def test_grade_outside_1_to_5_and_unknown_choices_are_refused(msvle, participant) -> None:
    fields = refused(
        msvle, participant, {**HEADACHE, "ctcae_grade": 6, "investigator_causality": "maybe"}
    )
    assert fields["ctcae_grade"] == ["CTCAE grades run from 1 to 5."]
    assert fields["investigator_causality"] == [
        "Choose one of: not_related, unlikely, possible, probable, definite."
    ]


def test_special_interest_needs_its_category(msvle, participant) -> None:
    fields = refused(msvle, participant, {**HEADACHE, "special_interest": True})
    assert fields == {"aesi_category": ["Give the category of special interest."]}
    ae = enter(
        msvle,
        participant,
        {**HEADACHE, "special_interest": True, "aesi_category": "infusion_reaction"},
    )
    assert ae.aesi_category == "infusion_reaction"


def test_derived_values_cannot_be_typed(msvle, participant) -> None:
    for name in ("serious", "related", "susar", "sae_report_due_at", "susar_due_at"):
        with pytest.raises(DomainError, match="no field"):
            enter(msvle, participant, {**HEADACHE, name: True})
    assert not AdverseEvent.objects.exists()


def test_only_data_management_enters_the_external_coding(msvle, participant) -> None:
    ae = enter(msvle, participant, HEADACHE)
    with pytest.raises(PermissionDeniedError, match="pt_name"):
        follow_up(msvle, ae, {"pt_name": "Headache"})
    coder = data_manager(msvle)
    with pytest.raises(DomainError) as caught:
        follow_up(msvle, ae, {"pt_code": "10019211", "pt_name": "Headache"}, actor=coder)
    assert caught.value.fields == {
        "dictionary_version": ["Give the dictionary version the term was coded with."]
    }
    coded = follow_up(
        msvle,
        ae,
        {"pt_code": "10019211", "pt_name": "Headache", "dictionary_version": "MedDRA 28.1"},
        actor=coder,
        reason="External coding imported",
    )
    assert (coded.pt_name, coded.verbatim_term) == ("Headache", "Headache after infusion")


# Becoming serious


def test_a_follow_up_makes_the_event_serious_with_a_24_hour_clock(msvle, participant) -> None:
    ae = enter(msvle, participant, {**HEADACHE, "onset_date": "2026-04-17"})
    assert (ae.serious, ae.sae_report_due_at) == (False, None)
    with pytest.raises(DomainError, match="reason"):
        follow_up(msvle, ae, {"hospitalisation": True, "site_awareness_at": AWARE}, reason="")
    with pytest.raises(DomainError) as caught:
        follow_up(msvle, ae, {"hospitalisation": True}, reason="Admitted overnight")
    assert caught.value.fields == {
        "site_awareness_at": ["Required for a serious event: when the site learned of it."]
    }
    serious = follow_up(
        msvle,
        ae,
        {"hospitalisation": True, "site_awareness_at": AWARE},
        reason="Admitted overnight",
    )
    assert serious.serious is True
    assert serious.sae_report_due_at == AWARE + timedelta(hours=24)
    assert serious.sae_report_due_at == datetime(2026, 4, 19, 8, 30, tzinfo=UTC)
    assert serious.row_version == 2
    # Recomputed on every save: un-ticking the criterion removes the clock.
    back = follow_up(msvle, serious, {"hospitalisation": False}, reason="Day case, not admitted")
    assert (back.serious, back.sae_report_due_at) == (False, None)


@pytest.mark.parametrize(
    "flag",
    [
        "death",
        "life_threatening",
        "hospitalisation",
        "disability",
        "congenital_anomaly",
        "medically_important",
    ],
)
def test_any_seriousness_criterion_makes_the_event_serious(msvle, participant, flag) -> None:
    data = {**HEADACHE, flag: True, "site_awareness_at": AWARE}
    if flag == "death":
        data.update(outcome="fatal", ongoing=False)
    ae = enter(msvle, participant, data)
    assert (ae.serious, ae.sae_report_due_at) == (True, AWARE + timedelta(hours=24))


def test_awareness_and_report_times_are_checked(msvle, participant) -> None:
    in_future = NOW + timedelta(minutes=5)
    assert refused(msvle, participant, {**PNEUMONIA, "site_awareness_at": in_future}) == {
        "site_awareness_at": ["The time is in the future."]
    }
    before_onset = datetime(2026, 4, 16, 9, 0, tzinfo=UTC)
    assert refused(msvle, participant, {**PNEUMONIA, "site_awareness_at": before_onset}) == {
        "site_awareness_at": ["The site cannot learn of the event before onset."]
    }
    early_report = AWARE - timedelta(hours=1)
    assert refused(msvle, participant, {**PNEUMONIA, "sae_reported_at": early_report}) == {
        "sae_reported_at": ["The report cannot reach the sponsor before awareness."]
    }
    assert not AdverseEvent.objects.exists()


def test_a_time_without_zone_is_the_sites_local_time(msvle, participant) -> None:
    ae = enter(msvle, participant, {**PNEUMONIA, "site_awareness_at": "2026-04-18T10:30:00"})
    # Madrid is UTC+2 in April.
    assert ae.site_awareness_at == AWARE
    assert ae.sae_report_due_at == AWARE + timedelta(hours=24)


# Sponsor assessment and SUSAR


def sponsor(team, ae, data, **kwargs):
    return follow_up(team, ae, data, actor=team.medical_monitor, **kwargs)


UNEXPECTED_PROBABLE = {
    "sponsor_causality": "probable",
    "expectedness": "unexpected",
    "sponsor_awareness_at": SPONSOR_AWARE,
}


def test_medical_monitor_makes_a_susar_due_in_15_days(msvle, participant) -> None:
    ae = enter(msvle, participant, PNEUMONIA)
    assessed = sponsor(msvle, ae, UNEXPECTED_PROBABLE, reason="Sponsor assessment")
    assert (assessed.susar, assessed.related) == (True, True)
    assert assessed.susar_due_at == SPONSOR_AWARE + timedelta(days=15)
    assert "+ 15 days" in form_type("adverse_events").explain(assessed)
    # The site's fields are untouched by the sponsor's assessment.
    assert (assessed.investigator_causality, assessed.site_awareness_at) == ("possible", AWARE)


@pytest.mark.parametrize(
    "extra",
    [{"life_threatening": True}, {"death": True, "outcome": "fatal", "ongoing": False}],
    ids=["life-threatening", "fatal"],
)
def test_fatal_or_life_threatening_susar_is_due_in_7_days(msvle, participant, extra) -> None:
    ae = enter(msvle, participant, {**PNEUMONIA, **extra})
    assessed = sponsor(msvle, ae, UNEXPECTED_PROBABLE)
    assert assessed.susar_due_at == SPONSOR_AWARE + timedelta(days=7)


def test_a_susar_turning_life_threatening_moves_its_deadline(msvle, participant) -> None:
    ae = sponsor(msvle, enter(msvle, participant, PNEUMONIA), UNEXPECTED_PROBABLE)
    worse = follow_up(msvle, ae, {"life_threatening": True, "ctcae_grade": 4}, reason="ICU")
    assert worse.susar_due_at == SPONSOR_AWARE + timedelta(days=7)


def test_expected_or_unrelated_events_are_not_susars(msvle, participant) -> None:
    ae = enter(msvle, participant, PNEUMONIA)
    expected = sponsor(msvle, ae, {**UNEXPECTED_PROBABLE, "expectedness": "expected"})
    assert (expected.susar, expected.susar_due_at) == (False, None)
    unrelated = enter(msvle, participant, {**PNEUMONIA, "investigator_causality": "unlikely"})
    assessed = sponsor(msvle, unrelated, {**UNEXPECTED_PROBABLE, "sponsor_causality": "unlikely"})
    assert (assessed.related, assessed.susar) == (False, False)
    # The sponsor alone judging it related is enough.
    by_sponsor = enter(msvle, participant, {**PNEUMONIA, "investigator_causality": "not_related"})
    assert sponsor(msvle, by_sponsor, UNEXPECTED_PROBABLE).susar is True


def test_sponsor_cannot_downgrade_the_investigator_both_are_kept(msvle, participant) -> None:
    ae = enter(msvle, participant, {**PNEUMONIA, "investigator_causality": "probable"})
    assessed = sponsor(msvle, ae, {**UNEXPECTED_PROBABLE, "sponsor_causality": "unlikely"})
    assert (assessed.investigator_causality, assessed.sponsor_causality) == (
        "probable",
        "unlikely",
    )
    assert (assessed.related, assessed.susar) == (True, True)
    assert {
        "field": "sponsor_causality",
        "message": "The sponsor's causality (unlikely) does not downgrade the investigator's "
        "(probable): both are kept and the event counts as related.",
    } in [{"field": w["field"], "message": w["message"]} for w in assessed.warnings]


def test_susar_without_the_sponsors_first_knowledge_warns(msvle, participant) -> None:
    ae = enter(msvle, participant, PNEUMONIA)
    assessed = sponsor(msvle, ae, {"sponsor_causality": "probable", "expectedness": "unexpected"})
    assert (assessed.susar, assessed.susar_due_at) == (True, None)
    assert [w["field"] for w in assessed.warnings] == ["sponsor_awareness_at"]


def test_site_staff_cannot_send_sponsor_fields(msvle, participant) -> None:
    ae = enter(msvle, participant, PNEUMONIA)
    for actor in (msvle.coordinator, msvle.investigator):
        with pytest.raises(PermissionDeniedError, match="sponsor_causality") as caught:
            follow_up(msvle, ae, {"sponsor_causality": "probable"}, actor=actor)
        assert caught.value.fields == {"sponsor_causality": ["Not for your role."]}
    with pytest.raises(PermissionDeniedError, match="expectedness, susar_reported_at"):
        enter(
            msvle,
            participant,
            {**PNEUMONIA, "expectedness": "unexpected", "susar_reported_at": NOW},
        )
    assert AdverseEvent.objects.get().row_version == 1


def test_medical_monitor_sends_only_the_sponsor_fields(msvle, participant) -> None:
    ae = enter(msvle, participant, PNEUMONIA)
    with pytest.raises(PermissionDeniedError, match="hospitalisation") as caught:
        sponsor(msvle, ae, {**UNEXPECTED_PROBABLE, "hospitalisation": False})
    assert caught.value.fields == {"hospitalisation": ["Not for your role."]}
    with pytest.raises(PermissionDeniedError, match="verbatim_term"):
        enter(msvle, participant, PNEUMONIA, actor=msvle.medical_monitor)
    stored = AdverseEvent.objects.get()
    assert (stored.row_version, stored.hospitalisation, stored.sponsor_causality) == (1, True, "")


@pytest.mark.parametrize("role", ["monitor", "statistician", "pharmacist", "other_coordinator"])
def test_roles_without_entry_rights_cannot_enter(msvle, participant, role) -> None:
    with pytest.raises(PermissionDeniedError):
        enter(msvle, participant, HEADACHE, actor=getattr(msvle, role))
    assert not AdverseEvent.objects.exists()


# Follow-up versions


def test_versions_list_the_initial_report_and_each_follow_up(msvle, participant) -> None:
    ae = enter(msvle, participant, {**HEADACHE, "onset_date": "2026-04-17"})
    ae = follow_up(
        msvle,
        ae,
        {"hospitalisation": True, "site_awareness_at": AWARE, "ctcae_grade": 3},
        actor=msvle.investigator,
        reason="Admitted to hospital",
    )
    ae = sponsor(msvle, ae, UNEXPECTED_PROBABLE, reason="Sponsor assessment")
    versions = ae_versions(msvle.medical_monitor, ae)
    assert [(v.version, v.kind) for v in versions] == [
        (1, "initial report"),
        (2, "follow-up"),
        (3, "follow-up"),
    ]
    assert [v.who for v in versions] == [
        f"{user.display_name()} ({user.username})"
        for user in (msvle.coordinator, msvle.investigator, msvle.medical_monitor)
    ]
    assert [v.reason for v in versions] == [
        "Initial entry",
        "Admitted to hospital",
        "Sponsor assessment",
    ]
    assert {c.field for c in versions[0].changes} >= {"verbatim_term", "onset_date", "related"}
    assert {(c.field, c.old, c.new) for c in versions[1].changes} == {
        ("hospitalisation", False, True),
        ("site_awareness_at", None, AWARE),
        ("ctcae_grade", 2, 3),
        ("serious", False, True),
        ("sae_report_due_at", None, AWARE + timedelta(hours=24)),
    }
    assert {c.field for c in versions[2].changes} == {
        "sponsor_causality",
        "expectedness",
        "sponsor_awareness_at",
        "susar",
        "susar_due_at",
    }


def test_a_stale_version_conflicts_and_overwrites_nothing(msvle, participant) -> None:
    ae = enter(msvle, participant, HEADACHE)
    follow_up(msvle, ae, {"ctcae_grade": 3}, reason="Worse", actor=msvle.investigator)
    with pytest.raises(ConflictError, match="Reload it"):
        follow_up(msvle, ae, {"ctcae_grade": 1}, version=1, reason="Milder")
    stored = AdverseEvent.objects.get()
    assert (stored.row_version, stored.ctcae_grade) == (2, 3)
    assert len(ae_versions(msvle.coordinator, stored)) == 2


# Scope and blinding


def test_other_site_coordinator_can_neither_enter_nor_read(msvle, participant) -> None:
    with pytest.raises(PermissionDeniedError):
        enter(msvle, participant, HEADACHE, actor=msvle.other_coordinator)
    ae = enter(msvle, participant, HEADACHE)
    with pytest.raises(NotFoundError):
        adverse_event_get(msvle.other_coordinator, ae.pk)
    with pytest.raises(NotFoundError):
        ae_versions(msvle.other_coordinator, ae)
    assert list(participant_adverse_events(msvle.other_coordinator, participant)) == []
    assert list(participant_adverse_events(msvle.monitor, participant)) == [ae]
    assert adverse_event_get(msvle.medical_monitor, ae.pk) == ae


def test_nothing_is_hidden_from_blinded_readers(msvle, participant) -> None:
    ftype = form_type("adverse_events")
    assert ftype.revealing == ()
    assert revealing_fields(ftype, participant) == set()
    ae = enter(msvle, participant, PNEUMONIA)
    sponsor(msvle, ae, UNEXPECTED_PROBABLE)
    history = form_history(msvle.monitor, ftype, ae)
    changed = {c.field for entry in history for c in entry.changes}
    assert {"sponsor_causality", "expectedness", "susar", "susar_due_at"} <= changed
    assert "hospitalisation" in changed


def test_a_time_outside_the_calendar_is_refused_with_a_field_message(msvle, participant):
    """The first midnight of the calendar in UTC is still the day before it in Madrid."""
    for name in ("site_awareness_at", "sae_reported_at"):
        fields = refused(msvle, participant, {**HEADACHE, name: datetime(1, 1, 1, tzinfo=UTC)})
        assert fields[name] == ["The date and time lie outside the calendar."]
    assert not AdverseEvent.objects.exists()


def test_the_page_refuses_a_time_outside_the_calendar(client, mscrole) -> None:
    """A time typed on the page is on the site's clock: in Santiago (UTC-03:00) the last hour
    of the calendar is already past its end in UTC."""
    participant = make_eligible(mscrole)
    client.force_login(mscrole.coordinator)
    response = client.post(
        f"/casebook/{participant.pk}/adverse_events/new/",
        {**HEADACHE, "site_awareness_at": "9999-12-31 23:00"},
    )
    assert response.status_code == 400
    assert "The date and time lie outside the calendar." in response.content.decode()
