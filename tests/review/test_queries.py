"""The query workflow: who opens, answers, closes, re-queries and re-opens, and what each step
leaves behind; corrections linked to their history record; automatic queries from warnings."""

from __future__ import annotations

from datetime import date

import pytest

from accounts.services import system_actor
from assessments.models import SledaiAssessment
from casebook.catalogue import form_type
from casebook.review_selectors import query_get, query_list
from ecrf.errors import (
    DomainError,
    InvalidTransitionError,
    NotFoundError,
    PermissionDeniedError,
)
from review.models import DataQuery, QueryMessage, QueryStatus, ResponseCode
from review.services import (
    CLOSED_BY_CHECK,
    REOPENED_BY_CHECK,
    query_answer,
    query_close,
    query_open,
    query_reopen,
    query_requery,
)
from tests.assessments.test_sledai_form import EXAMPLE_3
from tests.world import ENTERED, enter_sledai, later

pytestmark = pytest.mark.usefixtures("after_week24")


@pytest.fixture
def form(msvle, participant):
    return enter_sledai(msvle, participant)


def person(request, msvle, name):
    if name in ("data_manager", "monitor_b"):
        return request.getfixturevalue(name)
    return getattr(msvle, name)


def open_query(actor, form, *, field="dna", text="Anti-dsDNA result not in the lab report?", at=1):
    return query_open(
        actor=actor,
        ftype=form_type("sledai2k"),
        record=form,
        field_name=field,
        text=text,
        now=later(at),
    )


def answered(msvle, form, *, opener, code=ResponseCode.CONFIRMED, at=1):
    query = open_query(opener, form, at=at)
    return query_answer(
        actor=msvle.investigator,
        query=query,
        response_code=code,
        text="Checked against the lab report.",
        now=later(at + 1),
    )


def steps(query):
    return [
        (m.action, m.actor, m.role, m.text, m.response_code, m.at)
        for m in QueryMessage.objects.filter(query=query)
    ]


# Opening ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "role"),
    [
        ("monitor", "monitor"),
        ("data_manager", "data_manager"),
        ("medical_monitor", "medical_monitor"),
    ],
)
def test_reviewers_open_a_query(request, msvle, form, name, role) -> None:
    actor = person(request, msvle, name)
    query = open_query(actor, form)
    query.refresh_from_db()
    assert (query.status, query.opened_by, query.opener_role, query.automatic) == (
        QueryStatus.OPEN,
        actor,
        role,
        False,
    )
    assert (query.form_code, query.field_name, query.record) == ("sledai2k", "dna", form)
    assert (query.site, query.trial, query.participant) == (
        msvle.site,
        msvle.trial,
        form.participant,
    )
    assert steps(query) == [
        ("open", actor, role, "Anti-dsDNA result not in the lab report?", "", later(1))
    ]


@pytest.mark.parametrize(
    "name",
    [
        "investigator",
        "coordinator",
        "pharmacist",
        "statistician",
        "unblinded_statistician",
        "trial_admin",
        "monitor_b",
    ],
)
def test_other_roles_cannot_open_a_query(request, msvle, form, name) -> None:
    with pytest.raises(PermissionDeniedError):
        open_query(person(request, msvle, name), form)
    assert not DataQuery.objects.exists()
    assert not QueryMessage.objects.exists()


def test_query_on_an_unknown_field_or_the_wrong_form_is_refused(msvle, form) -> None:
    with pytest.raises(DomainError) as unknown:
        open_query(msvle.monitor, form, field="haemoglobin")
    assert unknown.value.fields == {"field_name": ["Unknown field."]}
    with pytest.raises(DomainError, match="not a form of that kind"):
        query_open(
            actor=msvle.monitor, ftype=form_type("renal"), record=form, text="Which?", now=later(1)
        )
    with pytest.raises(DomainError) as empty:
        open_query(msvle.monitor, form, text="   ")
    assert "text" in empty.value.fields
    assert not DataQuery.objects.exists()
    # A derived field and the whole form can be queried.
    assert open_query(msvle.monitor, form, field="total").field_name == "total"
    assert open_query(msvle.monitor, form, field="").field_name == ""


# Answering ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["monitor", "data_manager", "medical_monitor", "pharmacist", "other_coordinator"]
)
def test_only_site_staff_of_the_site_answer(request, msvle, form, name) -> None:
    query = open_query(msvle.monitor, form)
    with pytest.raises(PermissionDeniedError):
        query_answer(
            actor=person(request, msvle, name),
            query=query,
            response_code=ResponseCode.CONFIRMED,
            text="Fine.",
            now=later(2),
        )
    query.refresh_from_db()
    assert query.status == QueryStatus.OPEN
    assert len(steps(query)) == 1


@pytest.mark.parametrize("name", ["investigator", "coordinator"])
def test_site_staff_answer_with_a_code_and_a_comment(msvle, form, name) -> None:
    actor = getattr(msvle, name)
    query = open_query(msvle.monitor, form)
    with pytest.raises(DomainError, match="response code"):
        query_answer(actor=actor, query=query, response_code="maybe", text="?", now=later(2))
    with pytest.raises(DomainError, match="answer"):
        query_answer(
            actor=actor, query=query, response_code=ResponseCode.CONFIRMED, text=" ", now=later(2)
        )
    query_answer(
        actor=actor,
        query=query,
        response_code=ResponseCode.NOT_AVAILABLE,
        text="The lab lost the sample.",
        now=later(2),
    )
    query.refresh_from_db()
    assert (query.status, query.response_code, query.correction_history_id) == (
        QueryStatus.ANSWERED,
        ResponseCode.NOT_AVAILABLE,
        None,
    )
    assert steps(query)[1:] == [
        ("answer", actor, name, "The lab lost the sample.", "not_available", later(2))
    ]


# Closing, re-querying, re-opening -----------------------------------------------------------


def test_the_whole_cycle_records_every_step(msvle, form, data_manager) -> None:
    query = open_query(msvle.monitor, form, at=1)
    query_answer(
        actor=msvle.coordinator,
        query=query,
        response_code=ResponseCode.OTHER,
        text="Asked the investigator.",
        now=later(2),
    )
    query = query_requery(
        actor=msvle.monitor, query=query, text="Which result did you use?", now=later(3)
    )
    assert (query.status, query.response_code) == (QueryStatus.OPEN, "")
    query_answer(
        actor=msvle.investigator,
        query=query,
        response_code=ResponseCode.CONFIRMED,
        text="The 12 March result.",
        now=later(4),
    )
    query = query_close(actor=msvle.monitor, query=query, text="Agreed.", now=later(5))
    assert (query.status, query.closed_at) == (QueryStatus.CLOSED, later(5))
    query = query_reopen(
        actor=data_manager, query=query, text="The report is dated 13 March.", now=later(6)
    )
    query.refresh_from_db()
    assert (query.status, query.closed_at, query.response_code) == (QueryStatus.OPEN, None, "")
    assert steps(query) == [
        (
            "open",
            msvle.monitor,
            "monitor",
            "Anti-dsDNA result not in the lab report?",
            "",
            later(1),
        ),
        ("answer", msvle.coordinator, "coordinator", "Asked the investigator.", "other", later(2)),
        ("requery", msvle.monitor, "monitor", "Which result did you use?", "", later(3)),
        (
            "answer",
            msvle.investigator,
            "investigator",
            "The 12 March result.",
            "confirmed_correct",
            later(4),
        ),
        ("close", msvle.monitor, "monitor", "Agreed.", "", later(5)),
        ("reopen", data_manager, "data_manager", "The report is dated 13 March.", "", later(6)),
    ]
    # Each state change is on the query's own history too, with the actor.
    changes = [(h.status, h.history_user) for h in query.history.order_by("history_id")]
    assert changes[-1] == (QueryStatus.OPEN, data_manager)
    assert (QueryStatus.CLOSED, msvle.monitor) in changes


@pytest.mark.parametrize(
    "name", ["data_manager", "medical_monitor", "investigator", "coordinator", "monitor_b"]
)
def test_only_the_openers_role_closes_or_requeries_a_monitors_query(
    request, msvle, form, name
) -> None:
    query = answered(msvle, form, opener=msvle.monitor)
    actor = person(request, msvle, name)
    with pytest.raises(PermissionDeniedError):
        query_close(actor=actor, query=query, now=later(3))
    with pytest.raises(PermissionDeniedError):
        query_requery(actor=actor, query=query, text="Again?", now=later(3))
    query.refresh_from_db()
    assert query.status == QueryStatus.ANSWERED
    assert [s[0] for s in steps(query)] == ["open", "answer"]


def test_a_data_managers_query_is_closed_by_a_data_manager_not_the_monitor(
    msvle, form, data_manager
) -> None:
    query = answered(msvle, form, opener=data_manager)
    with pytest.raises(PermissionDeniedError):
        query_close(actor=msvle.monitor, query=query, now=later(3))
    closed = query_close(actor=data_manager, query=query, now=later(3))
    assert closed.status == QueryStatus.CLOSED
    assert steps(closed)[-1] == ("close", data_manager, "data_manager", "Closed", "", later(3))


@pytest.mark.parametrize(
    ("name", "allowed"),
    [
        ("monitor", True),
        ("data_manager", True),
        ("medical_monitor", False),
        ("investigator", False),
        ("coordinator", False),
        ("monitor_b", False),
    ],
)
def test_a_closed_query_is_reopened_by_a_monitor_or_data_manager(
    request, msvle, form, name, allowed
) -> None:
    query = answered(msvle, form, opener=msvle.medical_monitor)
    query = query_close(actor=msvle.medical_monitor, query=query, now=later(3))
    actor = person(request, msvle, name)
    if not allowed:
        with pytest.raises(PermissionDeniedError):
            query_reopen(actor=actor, query=query, text="Look again.", now=later(4))
        query.refresh_from_db()
        assert query.status == QueryStatus.CLOSED
        return
    with pytest.raises(DomainError, match="reason for re-opening"):
        query_reopen(actor=actor, query=query, text="", now=later(4))
    reopened = query_reopen(actor=actor, query=query, text="Look again.", now=later(4))
    assert reopened.status == QueryStatus.OPEN
    assert steps(reopened)[-1][:3] == ("reopen", actor, name)


def _open(msvle, form):
    return open_query(msvle.monitor, form)


def _answered(msvle, form):
    return answered(msvle, form, opener=msvle.monitor)


def _closed(msvle, form):
    return query_close(actor=msvle.monitor, query=_answered(msvle, form), now=later(3))


def _answer(msvle, query, dm):
    return query_answer(
        actor=msvle.coordinator,
        query=query,
        response_code=ResponseCode.CONFIRMED,
        text="Again.",
        now=later(5),
    )


def _close(msvle, query, dm):
    return query_close(actor=msvle.monitor, query=query, now=later(5))


def _requery(msvle, query, dm):
    return query_requery(actor=msvle.monitor, query=query, text="More?", now=later(5))


def _reopen(msvle, query, dm):
    return query_reopen(actor=dm, query=query, text="Once more.", now=later(5))


@pytest.mark.parametrize(
    ("state", "step"),
    [
        (_open, _close),
        (_open, _requery),
        (_open, _reopen),
        (_answered, _answer),
        (_answered, _reopen),
        (_closed, _answer),
        (_closed, _close),
        (_closed, _requery),
    ],
    ids=lambda f: f.__name__.strip("_"),
)
def test_illegal_transitions_are_refused(msvle, form, data_manager, state, step) -> None:
    query = state(msvle, form)
    before = (query.status, len(steps(query)))
    with pytest.raises(InvalidTransitionError):
        step(msvle, query, data_manager)
    query.refresh_from_db()
    assert (query.status, len(steps(query))) == before


# Corrections --------------------------------------------------------------------------------


def test_data_corrected_links_the_history_record_of_the_correction(msvle, participant, form):
    query = open_query(msvle.monitor, form, at=1)
    corrected = enter_sledai(
        msvle,
        participant,
        data={"dna": False},
        expected_version=1,
        reason="Anti-dsDNA was normal",
        now=later(2),
    )
    # An unrelated later save of another form does not count as the correction.
    enter_sledai(msvle, participant, "W8", {"assessment_date": date(2026, 4, 29)}, now=later(2.5))
    query = query_answer(
        actor=msvle.investigator,
        query=query,
        response_code=ResponseCode.DATA_CORRECTED,
        text="Corrected from the lab report.",
        now=later(3),
    )
    query.refresh_from_db()
    assert query.status == QueryStatus.ANSWERED
    assert query.response_code == ResponseCode.DATA_CORRECTED
    row = SledaiAssessment.history.get(history_id=query.correction_history_id)
    assert (row.id, row.row_version, row.dna, row.total) == (corrected.pk, 2, False, 14)
    assert row.history_change_reason == "Anti-dsDNA was normal"
    assert row.history_user == msvle.investigator


def test_data_corrected_without_a_correction_since_opening_is_refused(
    msvle, participant, form
) -> None:
    # A change saved before the query was opened is not the answer to it.
    enter_sledai(
        msvle, participant, data={"dna": False}, expected_version=1, reason="Typo", now=later(1)
    )
    query = open_query(msvle.monitor, form, at=2)
    with pytest.raises(DomainError, match="No correction"):
        query_answer(
            actor=msvle.investigator,
            query=query,
            response_code=ResponseCode.DATA_CORRECTED,
            text="Corrected.",
            now=later(3),
        )
    query.refresh_from_db()
    assert (query.status, query.response_code, query.correction_history_id) == (
        QueryStatus.OPEN,
        "",
        None,
    )
    assert len(steps(query)) == 1


def test_a_new_answer_after_reopening_drops_the_old_correction_link(
    msvle, participant, form, data_manager
) -> None:
    query = open_query(msvle.monitor, form, at=1)
    enter_sledai(
        msvle, participant, data={"dna": False}, expected_version=1, reason="Fix", now=later(2)
    )
    query = query_answer(
        actor=msvle.investigator,
        query=query,
        response_code=ResponseCode.DATA_CORRECTED,
        text="Corrected.",
        now=later(3),
    )
    assert query.correction_history_id is not None
    query = query_close(actor=msvle.monitor, query=query, now=later(4))
    query = query_reopen(actor=data_manager, query=query, text="Not corrected?", now=later(5))
    query.refresh_from_db()
    assert (query.status, query.correction_history_id) == (QueryStatus.OPEN, None)
    query = query_answer(
        actor=msvle.investigator,
        query=query,
        response_code=ResponseCode.CONFIRMED,
        text="The value stands.",
        now=later(6),
    )
    query.refresh_from_db()
    assert (query.response_code, query.correction_history_id) == (ResponseCode.CONFIRMED, None)


# Sites --------------------------------------------------------------------------------------


def test_a_monitor_of_another_site_cannot_act_on_this_sites_queries(msvle, form, monitor_b) -> None:
    with pytest.raises(PermissionDeniedError):
        open_query(monitor_b, form)
    query = answered(msvle, form, opener=msvle.monitor)
    with pytest.raises(PermissionDeniedError):
        query_close(actor=monitor_b, query=query, now=later(3))
    closed = query_close(actor=msvle.monitor, query=query, now=later(3))
    with pytest.raises(PermissionDeniedError):
        query_reopen(actor=monitor_b, query=closed, text="Let me see.", now=later(4))
    assert DataQuery.objects.get().status == QueryStatus.CLOSED
    # Nor read them: another site's query is not found rather than refused.
    assert list(query_list(msvle.monitor)) == [closed]
    assert not query_list(monitor_b).exists()
    with pytest.raises(NotFoundError):
        query_get(monitor_b, closed.pk)
    assert query_get(msvle.monitor, closed.pk) == closed


# Automatic queries --------------------------------------------------------------------------


def test_each_warning_becomes_one_automatic_query_and_saving_again_adds_none(
    msvle, participant
) -> None:
    # 10 April lies outside the week 4 window; example 3 adds warnings on items that don't score.
    form = enter_sledai(
        msvle, participant, data={"assessment_date": date(2026, 4, 10), **EXAMPLE_3}
    )
    warned = {(w["field"], w["message"]) for w in form.warnings}
    assert ("assessment_date", "The date lies outside the window of visit W4.") in warned
    assert len(warned) >= 3
    queries = DataQuery.objects.filter(automatic=True)
    assert {(q.field_name, q.text) for q in queries} == warned
    assert queries.count() == len(warned)
    assert {(q.status, q.opener_role, q.opened_at, q.object_id) for q in queries} == {
        (QueryStatus.OPEN, "system", ENTERED, form.pk)
    }
    assert QueryMessage.objects.filter(action="open", role="system").count() == len(warned)

    enter_sledai(
        msvle,
        participant,
        data={"alop": False},
        expected_version=1,
        reason="Alopecia resolved",
        now=later(1),
    )
    form.refresh_from_db()
    still = {(w["field"], w["message"]) for w in form.warnings}
    assert ("assessment_date", "The date lies outside the window of visit W4.") in still
    assert DataQuery.objects.count() == len(warned | still)
    assert QueryMessage.objects.count() == len(warned | still)


def test_an_automatic_query_is_closed_by_a_reviewer_never_by_site_staff(msvle, participant) -> None:
    enter_sledai(msvle, participant, data={"assessment_date": date(2026, 4, 10)})
    query = DataQuery.objects.get(automatic=True)
    query = query_answer(
        actor=msvle.coordinator,
        query=query,
        response_code=ResponseCode.CONFIRMED,
        text="The visit was late; the patient was travelling.",
        now=later(1),
    )
    for actor in (msvle.coordinator, msvle.investigator):
        with pytest.raises(PermissionDeniedError):
            query_close(actor=actor, query=query, now=later(2))
    closed = query_close(actor=msvle.monitor, query=query, now=later(2))
    assert closed.status == QueryStatus.CLOSED
    assert steps(closed)[-1][:3] == ("close", msvle.monitor, "monitor")


OUT_OF_WINDOW = ("assessment_date", "The date lies outside the window of visit W4.")


def enter_out_of_window(msvle, participant, **items):
    return enter_sledai(msvle, participant, data={"assessment_date": date(2026, 4, 10), **items})


def change_date(msvle, participant, day, *, version, at, reason="Visit date typed wrong"):
    return enter_sledai(
        msvle,
        participant,
        data={"assessment_date": day},
        expected_version=version,
        reason=reason,
        now=later(at),
    )


def answer_automatic(msvle, code, text):
    """The coordinator answers the one automatic query, an hour after entry."""
    return query_answer(
        actor=msvle.coordinator,
        query=DataQuery.objects.get(automatic=True),
        response_code=code,
        text=text,
        now=later(1),
    )


def latest_history(query):
    return query.history.order_by("history_id").last()


@pytest.mark.parametrize("opener", ["monitor", "data_manager"])
def test_a_correction_closes_the_automatic_query_of_its_check_but_not_a_persons(
    request, msvle, participant, opener
) -> None:
    form = enter_out_of_window(msvle, participant)
    automatic = DataQuery.objects.get(automatic=True)
    assert (automatic.field_name, automatic.text) == OUT_OF_WINDOW
    asked = open_query(
        person(request, msvle, opener), form, field="assessment_date", text="Is 10 April right?"
    )

    form = change_date(msvle, participant, date(2026, 4, 1), version=1, at=2)
    assert form.warnings == []

    automatic.refresh_from_db()
    system = system_actor()
    assert (automatic.status, automatic.closed_at, automatic.response_code) == (
        QueryStatus.CLOSED,
        later(2),
        "",
    )
    assert steps(automatic)[-1] == ("close", system, "system", CLOSED_BY_CHECK, "", later(2))
    # The query's own history names the system and says why it closed.
    audit = latest_history(automatic)
    assert (audit.status, audit.history_user, audit.history_change_reason) == (
        QueryStatus.CLOSED,
        system,
        CLOSED_BY_CHECK,
    )
    # It points at the save that corrected the data, made by the investigator.
    correction = SledaiAssessment.history.get(history_id=automatic.correction_history_id)
    assert (
        correction.assessment_date,
        correction.history_user,
        correction.history_change_reason,
    ) == (date(2026, 4, 1), msvle.investigator, "Visit date typed wrong")
    # The question a person asked on the same field is theirs to close.
    asked.refresh_from_db()
    assert (asked.status, asked.closed_at) == (QueryStatus.OPEN, None)
    assert [step[0] for step in steps(asked)] == ["open"]


def test_a_check_still_firing_keeps_its_automatic_query_open(msvle, participant) -> None:
    form = enter_out_of_window(msvle, participant, **EXAMPLE_3)
    others = {(w["field"], w["message"]) for w in form.warnings} - {OUT_OF_WINDOW}
    assert others
    count = DataQuery.objects.count()

    form = change_date(msvle, participant, date(2026, 4, 1), version=1, at=2)
    assert {(w["field"], w["message"]) for w in form.warnings} == others

    assert DataQuery.objects.count() == count
    by_finding = {(q.field_name, q.text): q for q in DataQuery.objects.filter(automatic=True)}
    assert by_finding.pop(OUT_OF_WINDOW).status == QueryStatus.CLOSED
    assert set(by_finding) == others
    for query in by_finding.values():
        assert (query.status, query.closed_at) == (QueryStatus.OPEN, None)
        assert [step[0] for step in steps(query)] == ["open"]


def test_an_answered_automatic_query_closes_too_and_keeps_the_answer(msvle, participant) -> None:
    enter_out_of_window(msvle, participant)
    query = answer_automatic(msvle, ResponseCode.OTHER, "Checking the visit log.")
    change_date(msvle, participant, date(2026, 4, 1), version=1, at=2)
    query.refresh_from_db()
    assert (query.status, query.response_code) == (QueryStatus.CLOSED, ResponseCode.OTHER)
    assert [step[:3] for step in steps(query)] == [
        ("open", system_actor(), "system"),
        ("answer", msvle.coordinator, "coordinator"),
        ("close", system_actor(), "system"),
    ]


def test_a_check_firing_again_reopens_the_query_it_closed(msvle, participant) -> None:
    enter_out_of_window(msvle, participant)
    change_date(msvle, participant, date(2026, 4, 1), version=1, at=2)
    change_date(msvle, participant, date(2026, 4, 10), version=2, at=3, reason="Source re-read")
    query = DataQuery.objects.get(automatic=True)
    assert (query.status, query.closed_at, query.correction_history_id) == (
        QueryStatus.OPEN,
        None,
        None,
    )
    assert [step[:4] for step in steps(query)] == [
        ("open", system_actor(), "system", OUT_OF_WINDOW[1]),
        ("close", system_actor(), "system", CLOSED_BY_CHECK),
        ("reopen", system_actor(), "system", REOPENED_BY_CHECK),
    ]
    assert latest_history(query).history_change_reason == REOPENED_BY_CHECK


def test_a_query_a_reviewer_closed_is_not_reopened_by_its_check(msvle, participant) -> None:
    enter_out_of_window(msvle, participant)
    query = answer_automatic(msvle, ResponseCode.CONFIRMED, "The visit was late.")
    query_close(actor=msvle.monitor, query=query, now=later(2))
    enter_sledai(
        msvle, participant, data={"alop": True}, expected_version=1, reason="Alopecia", now=later(3)
    )
    query.refresh_from_db()
    assert query.status == QueryStatus.CLOSED
    assert [step[0] for step in steps(query)] == ["open", "answer", "close"]
