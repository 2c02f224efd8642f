"""The review API: queries, SDV, signatures, locks and the review queue, for the right and the
wrong users; another site's data are not found; query counts do not grow with the rows."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.models import User
from assessments.models import SledaiAssessment
from assessments.services.visits import visit_record
from review.models import DataQuery, Lock, QueryStatus, Signature, SourceVerification
from tests.openapi import assert_conforms
from tests.personas import NOW, Team
from tests.world import ENTERED, enter_sledai, make_eligible, register
from trials.models import Participant
from visits.models import Visit, VisitStatus

QUERIES = "/api/v1/queries/"


@pytest.fixture(autouse=True)
def clock(time_machine):
    """Frozen at the first entry; tests move it on between steps."""
    time_machine.move_to(ENTERED, tick=False)
    return time_machine


@pytest.fixture
def api() -> APIClient:
    return APIClient()


@pytest.fixture
def form(msvle: Team, participant: Participant) -> Any:
    return enter_sledai(msvle, participant)


def as_user(api: APIClient, user: User) -> APIClient:
    api.force_login(user)
    return api


def sledai_elsewhere(team: Team) -> Any:
    """A SLEDAI-2K at selection of a participant of the other site (ZZ01); that site is not
    a randomization stratum, so the participant stays in screening."""
    there = make_eligible(team, register(team, site=team.other_site))
    return enter_sledai(
        team,
        there,
        "SEL",
        data={"assessment_date": NOW.date(), "arth": True},
        actor=team.other_coordinator,
    )


def open_query(api: APIClient, user: User, form: Any, field: str = "dna", **extra: Any) -> Any:
    return as_user(api, user).post(
        QUERIES,
        {
            "form_code": "sledai2k",
            "record_id": form.pk,
            "field_name": field,
            "text": "Anti-dsDNA: which lab report?",
            **extra,
        },
        format="json",
    )


def error(response: Any) -> str:
    return response.json()["error"]["message"]


# Queries ------------------------------------------------------------------------------------


def test_monitor_opens_site_answers_monitor_closes_and_reopens(api, msvle, form, clock) -> None:
    opened = open_query(api, msvle.monitor, form)
    assert opened.status_code == 201, opened.content
    body = opened.json()
    assert (body["status"], body["field_name"], body["record_id"]) == ("open", "dna", form.pk)
    assert (body["form_code"], body["form_label"], body["opener_role"]) == (
        "sledai2k",
        "SLEDAI-2K",
        "monitor",
    )
    assert [m["action"] for m in body["messages"]] == ["open"]
    query_id = body["id"]

    clock.shift(timedelta(days=3))
    answered = as_user(api, msvle.coordinator).post(
        f"{QUERIES}{query_id}/answer/",
        {"response_code": "confirmed_correct", "text": "Lab report of 28 March."},
        format="json",
    )
    assert answered.status_code == 200, answered.content
    assert (answered.json()["status"], answered.json()["age_days"]) == ("answered", 3)

    closed = as_user(api, msvle.monitor).post(f"{QUERIES}{query_id}/close/", {}, format="json")
    assert closed.status_code == 200, closed.content
    assert closed.json()["status"] == "closed"
    assert closed.json()["closed_at"] is not None

    reopened = as_user(api, msvle.monitor).post(
        f"{QUERIES}{query_id}/reopen/", {"text": "Second report differs."}, format="json"
    )
    assert reopened.status_code == 200, reopened.content
    detail = as_user(api, msvle.coordinator).get(f"{QUERIES}{query_id}/").json()
    assert detail["status"] == "open"
    assert [(m["action"], m["role"]) for m in detail["messages"]] == [
        ("open", "monitor"),
        ("answer", "coordinator"),
        ("close", "monitor"),
        ("reopen", "monitor"),
    ]
    assert detail["messages"][1]["response_code"] == "confirmed_correct"


def test_data_corrected_links_the_correction_and_requery_sends_it_back(
    api, msvle, participant, form, clock
) -> None:
    query_id = open_query(api, msvle.monitor, form).json()["id"]
    clock.shift(timedelta(hours=2))
    enter_sledai(
        msvle,
        participant,
        data={"dna": False},
        actor=msvle.coordinator,
        expected_version=1,
        reason="Anti-dsDNA negative on the source report",
        now=ENTERED + timedelta(hours=2),
    )
    answered = as_user(api, msvle.coordinator).post(
        f"{QUERIES}{query_id}/answer/",
        {"response_code": "data_corrected", "text": "Corrected from the lab report."},
        format="json",
    )
    assert answered.status_code == 200, answered.content
    correction = SledaiAssessment.history.get(id=form.pk, row_version=2)
    assert answered.json()["correction_history_id"] == correction.history_id

    back = as_user(api, msvle.monitor).post(
        f"{QUERIES}{query_id}/requery/", {"text": "Also check the date."}, format="json"
    )
    assert back.status_code == 200, back.content
    assert (back.json()["status"], back.json()["correction_history_id"]) == ("open", None)


def test_wrong_roles_get_403_with_the_service_message(api, msvle, form, data_manager) -> None:
    refused = open_query(api, msvle.coordinator, form)
    assert refused.status_code == 403
    assert error(refused) == "Your role does not allow you to open queries."
    assert not DataQuery.objects.exists()

    query_id = open_query(api, msvle.monitor, form).json()["id"]
    answer = {"response_code": "confirmed_correct", "text": "I say so."}
    refused = as_user(api, msvle.monitor).post(f"{QUERIES}{query_id}/answer/", answer)
    assert (refused.status_code, error(refused)) == (
        403,
        "Your role does not allow you to answer queries.",
    )
    as_user(api, msvle.investigator).post(f"{QUERIES}{query_id}/answer/", answer)
    # The data manager did not open it: only the monitor's role closes it.
    refused = as_user(api, data_manager).post(f"{QUERIES}{query_id}/close/", {})
    assert (refused.status_code, error(refused)) == (
        403,
        "Only the role that opened the query may close it.",
    )
    refused = as_user(api, msvle.coordinator).post(f"{QUERIES}{query_id}/close/", {})
    assert refused.status_code == 403
    # A step out of order is a conflict, not a refusal.
    again = as_user(api, msvle.coordinator).post(f"{QUERIES}{query_id}/answer/", answer)
    assert again.status_code == 409
    assert DataQuery.objects.get().status == QueryStatus.ANSWERED


def test_bad_input_is_400(api, msvle, form) -> None:
    unknown = open_query(api, msvle.monitor, form, field="no_such_field")
    assert unknown.status_code == 400
    assert unknown.json()["error"]["fields"] == {"field_name": ["Unknown field."]}
    empty = as_user(api, msvle.monitor).post(QUERIES, {"form_code": "sledai2k"}, format="json")
    assert empty.status_code == 400
    assert set(empty.json()["error"]["fields"]) == {"record_id", "text"}
    no_form = open_query(api, msvle.monitor, form, form_code="renal")
    assert no_form.status_code == 404


def test_another_sites_monitor_and_coordinator_find_nothing(api, msvle, form, monitor_b) -> None:
    refused = open_query(api, monitor_b, form)
    assert refused.status_code == 404
    query_id = open_query(api, msvle.monitor, form).json()["id"]
    for user in (monitor_b, msvle.other_coordinator):
        client = as_user(api, user)
        assert client.get(QUERIES).json()["count"] == 0
        assert client.get(f"{QUERIES}{query_id}/").status_code == 404
        answer = {"response_code": "confirmed_correct", "text": "Not ours."}
        assert client.post(f"{QUERIES}{query_id}/answer/", answer).status_code == 404
        assert client.post(f"{QUERIES}{query_id}/reopen/", {"text": "x"}).status_code == 404
    assert DataQuery.objects.get().status == QueryStatus.OPEN


@pytest.mark.parametrize(
    ("who", "count"),
    [
        ("monitor", 1),
        ("coordinator", 1),
        ("investigator", 1),
        ("data_manager", 2),
        ("medical_monitor", 2),
        ("monitor_b", 1),
        ("other_coordinator", 1),
        ("pharmacist", 0),
        ("statistician", 0),
        ("unblinded_statistician", 0),
        ("trial_admin", 0),
    ],
)
def test_query_list_is_scoped_by_role_and_site(
    request, api, msvle, participant, form, data_manager, monitor_b, who, count
) -> None:
    open_query(api, msvle.monitor, form)
    theirs = sledai_elsewhere(msvle)
    assert open_query(api, monitor_b, theirs).status_code == 201
    user = request.getfixturevalue(who) if who in ("data_manager", "monitor_b") else None
    body = as_user(api, user or getattr(msvle, who)).get(QUERIES).json()
    assert body["count"] == count


def test_query_list_filters(api, msvle, participant, form, data_manager) -> None:
    first = open_query(api, msvle.monitor, form).json()["id"]
    open_query(api, msvle.monitor, form, field="prot")
    as_user(api, msvle.coordinator).post(
        f"{QUERIES}{first}/answer/", {"response_code": "other", "text": "See the note."}
    )
    client = as_user(api, data_manager)
    assert [q["id"] for q in client.get(f"{QUERIES}?status=answered").json()["results"]] == [first]
    assert client.get(f"{QUERIES}?status=open").json()["count"] == 1
    assert client.get(f"{QUERIES}?participant={participant.pk}").json()["count"] == 2
    assert client.get(f"{QUERIES}?site={msvle.other_site.code}").json()["count"] == 0
    assert client.get(f"{QUERIES}?trial=MSVLE&site={msvle.site.code}").json()["count"] == 2
    assert client.get(f"{QUERIES}?status=nonsense").status_code == 400


@pytest.mark.parametrize("count", [2, 9])
def test_query_list_query_count_does_not_grow(
    api, msvle, form, count, django_assert_num_queries
) -> None:
    fields = ["dna", "prot", "hemat", "casts", "lowcomp", "arth", "rash", "fever", "leuk"]
    for name in fields[:count]:
        open_query(api, msvle.monitor, form, field=name)
    client = as_user(api, msvle.monitor)
    # 1 session, 2 user, 3 my memberships for the scope, 4 the page count, 5 the page of
    # queries joined with trial, site, participant and opener; 6-8 the session saved again
    # (savepoint, update, release). Nothing per row.
    with django_assert_num_queries(8):
        response = client.get(QUERIES)
    assert response.json()["count"] == count


# Source data verification -------------------------------------------------------------------


def sdv_url(participant: Participant, form: Any) -> str:
    return f"/api/v1/participants/{participant.pk}/forms/sledai2k/{form.pk}/sdv/"


def test_monitor_verifies_a_form_and_a_change_voids_it(
    api, msvle, participant, form, clock
) -> None:
    done = as_user(api, msvle.monitor).post(sdv_url(participant, form))
    assert done.status_code == 201, done.content
    assert (done.json()["row_version"], done.json()["verified_by"]) == (
        1,
        msvle.monitor.display_name(),
    )
    again = as_user(api, msvle.monitor).post(sdv_url(participant, form))
    assert again.json()["id"] == done.json()["id"]

    clock.shift(timedelta(hours=1))
    enter_sledai(
        msvle,
        participant,
        data={"arth": True},
        actor=msvle.coordinator,
        expected_version=1,
        reason="Arthritis missed at entry",
        now=ENTERED + timedelta(hours=1),
    )
    verification = SourceVerification.objects.get()
    assert verification.voided_at is not None
    renewed = as_user(api, msvle.monitor).post(sdv_url(participant, form))
    assert renewed.json()["row_version"] == 2


def test_the_monitor_verifies_fields_and_the_queue_counts_the_form_until_complete(
    api, msvle, participant, form
) -> None:
    client = as_user(api, msvle.monitor)
    part = client.post(sdv_url(participant, form), {"fields": ["assessment_date"]}, format="json")
    assert part.status_code == 201, part.content
    assert_conforms(
        part, "POST", "/api/v1/participants/{participant_id}/forms/{code}/{record_id}/sdv/"
    )
    assert (part.json()["verified_fields"], part.json()["complete"]) == (["assessment_date"], False)
    assert queue(api, msvle.monitor).json()["counts"]["to_verify"] == 1
    unknown = client.post(sdv_url(participant, form), {"fields": ["xray"]}, format="json")
    assert (unknown.status_code, error(unknown)) == (400, "This form has no field xray.")
    whole = client.post(sdv_url(participant, form))
    assert (whole.json()["id"], whole.json()["complete"]) == (part.json()["id"], True)
    assert queue(api, msvle.monitor).json()["counts"]["to_verify"] == 0


def test_sdv_refused_to_other_roles_and_sites(
    api, msvle, participant, form, monitor_b, data_manager
) -> None:
    for user in (msvle.coordinator, msvle.investigator, data_manager, msvle.medical_monitor):
        refused = as_user(api, user).post(sdv_url(participant, form))
        assert (refused.status_code, error(refused)) == (
            403,
            "Your role does not allow you to verify source data.",
        )
    assert as_user(api, monitor_b).post(sdv_url(participant, form)).status_code == 404
    # The pharmacist never reads efficacy forms: not found, not refused.
    assert as_user(api, msvle.pharmacist).post(sdv_url(participant, form)).status_code == 404
    assert not SourceVerification.objects.exists()


# Signatures ---------------------------------------------------------------------------------


def sign(api: APIClient, user: User, participant: Participant, **data: Any) -> Any:
    data.setdefault("acknowledged", True)
    return as_user(api, user).post(
        f"/api/v1/participants/{participant.pk}/signatures/", data, format="json"
    )


def test_investigator_signs_a_visit_a_form_and_the_casebook(api, msvle, participant, form) -> None:
    w4 = participant.visits.get(code="W4")
    unacknowledged = sign(
        api,
        msvle.investigator,
        participant,
        scope="visit",
        visit=w4.pk,
        password=msvle.password,
        acknowledged=False,
    )
    assert unacknowledged.status_code == 400
    assert unacknowledged.json()["error"]["code"] == "outstanding"
    assert "SLEDAI-2K (W4) is not source-verified." in error(unacknowledged)
    assert not Signature.objects.exists()
    visit = sign(
        api, msvle.investigator, participant, scope="visit", visit=w4.pk, password=msvle.password
    )
    assert visit.status_code == 201, visit.content
    assert (visit.json()["scope"], visit.json()["visit"]) == ("visit", w4.pk)
    assert visit.json()["meaning"] == "I confirm these data are accurate and complete."
    one = sign(
        api,
        msvle.investigator,
        participant,
        scope="form",
        form_code="sledai2k",
        record_id=form.pk,
        password=msvle.password,
    )
    assert (one.status_code, one.json()["record_id"]) == (201, form.pk)
    book = sign(api, msvle.investigator, participant, scope="casebook", password=msvle.password)
    assert book.status_code == 201
    assert Signature.objects.filter(voided_at__isnull=True).count() == 3


def test_signing_needs_the_right_password_role_and_target(
    api, msvle, participant, form, monitor_b
) -> None:
    w4 = participant.visits.get(code="W4")
    wrong = sign(api, msvle.investigator, participant, scope="visit", visit=w4.pk, password="nope")
    assert (wrong.status_code, error(wrong)) == (
        400,
        "The password is not correct; nothing was signed.",
    )
    refused = sign(
        api, msvle.coordinator, participant, scope="visit", visit=w4.pk, password=msvle.password
    )
    assert (refused.status_code, error(refused)) == (403, "Your role does not allow you to sign.")
    missing = sign(api, msvle.investigator, participant, scope="form", password=msvle.password)
    assert missing.status_code == 400
    assert error(missing) == "Name the form: form_code and record_id."
    elsewhere = sign(api, monitor_b, participant, scope="casebook", password=msvle.password)
    assert elsewhere.status_code == 404
    assert not Signature.objects.exists()


# Locks --------------------------------------------------------------------------------------


def test_data_manager_locks_the_trial_and_everything_freezes(
    api, msvle, participant, form, data_manager
) -> None:
    query_id = open_query(api, msvle.monitor, form).json()["id"]
    locked = as_user(api, data_manager).post(
        "/api/v1/locks/",
        {"level": "trial", "trial": "MSVLE", "reason": "Database lock for the final analysis"},
        format="json",
    )
    assert locked.status_code == 201, locked.content
    assert (locked.json()["level"], locked.json()["active"]) == ("trial", True)

    frozen = open_query(api, msvle.monitor, form, field="prot")
    assert (frozen.status_code, error(frozen)) == (
        423,
        "The trial database is locked: queries are frozen.",
    )
    answer = {"response_code": "confirmed_correct", "text": "Checked."}
    assert (
        as_user(api, msvle.coordinator).post(f"{QUERIES}{query_id}/answer/", answer).status_code
        == 423
    )
    change = as_user(api, msvle.coordinator).put(
        f"/api/v1/participants/{participant.pk}/forms/sledai2k/{form.pk}/",
        {"version": 1, "reason": "Late correction", "data": {"arth": True}},
        format="json",
    )
    assert change.status_code == 423

    lock_id = locked.json()["id"]
    released = as_user(api, data_manager).post(
        f"/api/v1/locks/{lock_id}/release/", {"reason": "Query resolution re-opened"}
    )
    assert released.status_code == 200, released.content
    assert released.json()["active"] is False
    twice = as_user(api, data_manager).post(
        f"/api/v1/locks/{lock_id}/release/", {"reason": "Again"}
    )
    assert twice.status_code == 409
    assert open_query(api, msvle.monitor, form, field="prot").status_code == 201


def test_form_lock_keeps_queries_moving_but_not_the_data(
    api, msvle, participant, form, data_manager
) -> None:
    query_id = open_query(api, msvle.monitor, form).json()["id"]
    locked = as_user(api, data_manager).post(
        "/api/v1/locks/",
        {
            "level": "form",
            "trial": "MSVLE",
            "participant": participant.pk,
            "form_code": "sledai2k",
            "record_id": form.pk,
            "reason": "Verified and signed",
        },
        format="json",
    )
    assert locked.status_code == 201, locked.content
    assert (locked.json()["record_id"], locked.json()["participant"]["id"]) == (
        form.pk,
        participant.pk,
    )
    answered = as_user(api, msvle.coordinator).post(
        f"{QUERIES}{query_id}/answer/", {"response_code": "confirmed_correct", "text": "Fine."}
    )
    assert answered.status_code == 200
    change = as_user(api, msvle.coordinator).put(
        f"/api/v1/participants/{participant.pk}/forms/sledai2k/{form.pk}/",
        {"version": 1, "reason": "Late correction", "data": {"arth": True}},
        format="json",
    )
    assert change.status_code == 423
    assert "a data manager must unlock them first" in error(change)


def test_locks_refused_to_other_roles_and_scoped_by_site(
    api, msvle, participant, form, data_manager, monitor_b
) -> None:
    body = {"level": "participant", "trial": "MSVLE", "participant": participant.pk, "reason": "x"}
    for user in (msvle.monitor, msvle.coordinator, msvle.medical_monitor):
        refused = as_user(api, user).post("/api/v1/locks/", body, format="json")
        assert (refused.status_code, error(refused)) == (
            403,
            "Your role does not allow you to lock data.",
        )
    assert as_user(api, monitor_b).post("/api/v1/locks/", body, format="json").status_code == 404
    unknown_trial = as_user(api, data_manager).post(
        "/api/v1/locks/", {**body, "trial": "NOPE"}, format="json"
    )
    assert unknown_trial.status_code == 404
    made = as_user(api, data_manager).post("/api/v1/locks/", body, format="json")
    assert made.status_code == 201
    as_user(api, data_manager).post(
        "/api/v1/locks/",
        {"level": "site", "trial": "MSVLE", "site": msvle.other_site.code, "reason": "Closed"},
        format="json",
    )
    assert Lock.objects.count() == 2
    # Each site sees its own locks; data management sees all.
    assert as_user(api, msvle.monitor).get("/api/v1/locks/").json()["count"] == 1
    mine = as_user(api, monitor_b).get("/api/v1/locks/").json()["results"]
    assert [(lock["level"], lock["site"]) for lock in mine] == [("site", "ZZ01")]
    assert as_user(api, data_manager).get("/api/v1/locks/?active=true").json()["count"] == 2
    refused = as_user(api, msvle.monitor).post(
        f"/api/v1/locks/{made.json()['id']}/release/", {"reason": "Mine now"}
    )
    assert refused.status_code == 403
    assert (
        as_user(api, monitor_b)
        .post(f"/api/v1/locks/{made.json()['id']}/release/", {"reason": "x"})
        .status_code
        == 404
    )


# The review queue ---------------------------------------------------------------------------


def queue(api: APIClient, user: User, query: str = "") -> Any:
    return as_user(api, user).get(f"/api/v1/trials/MSVLE/review-queue/{query}")


def test_queue_lists_forms_queries_and_visits_to_review(
    api, msvle, participant, form, clock
) -> None:
    first = open_query(api, msvle.monitor, form).json()["id"]
    clock.shift(timedelta(days=10))
    second = open_query(api, msvle.monitor, form, field="prot").json()["id"]
    as_user(api, msvle.coordinator).post(
        f"{QUERIES}{second}/answer/", {"response_code": "confirmed_correct", "text": "Yes."}
    )
    w4 = participant.visits.get(code="W4")
    visit_record(actor=msvle.coordinator, visit=w4, actual_date=date(2026, 4, 1), now=ENTERED)
    Visit.objects.filter(participant=participant, code="W8").update(status=VisitStatus.OVERDUE)
    Visit.objects.filter(participant=participant, code="W1").update(status=VisitStatus.MISSED)

    body = queue(api, msvle.monitor).json()
    assert body["counts"]["to_verify"] == 1
    assert body["counts"]["open_queries"] == 1
    assert body["counts"]["answered_queries"] == 1
    assert body["counts"]["overdue_visits"] == 1
    assert body["counts"]["missed_visits"] == 1
    (row,) = body["to_verify"]
    assert (row["form_code"], row["record_id"], row["visit"], row["site"]) == (
        "sledai2k",
        form.pk,
        "W4",
        msvle.site.code,
    )
    (open_row,) = body["open_queries"]
    assert (open_row["id"], open_row["age_days"]) == (first, 10)
    assert body["open_queries_by_age"] == {"0-7": 0, "8-30": 1, ">30": 0}
    assert [q["id"] for q in body["answered_queries"]] == [second]
    unsigned = [v["code"] for v in body["unsigned_visits"]]
    assert "W4" in unsigned
    assert [v["code"] for v in body["overdue_visits"]] == ["W8"]
    assert [v["code"] for v in body["missed_visits"]] == ["W1"]

    # Two queries on the form are unresolved: verified only by override, with a reason.
    refused = as_user(api, msvle.monitor).post(sdv_url(participant, form))
    assert (refused.status_code, error(refused)) == (
        400,
        "This form has 2 unresolved queries. Resolve them first, or verify with an override "
        "and a reason.",
    )
    no_reason = as_user(api, msvle.monitor).post(sdv_url(participant, form), {"override": True})
    assert no_reason.json()["error"]["fields"] == {"reason": ["Required."]}
    done = as_user(api, msvle.monitor).post(
        sdv_url(participant, form), {"override": True, "reason": "Source seen; query is minor"}
    )
    assert (done.status_code, done.json()["open_queries"], done.json()["override_reason"]) == (
        201,
        2,
        "Source seen; query is minor",
    )
    sign(api, msvle.investigator, participant, scope="visit", visit=w4.pk, password=msvle.password)
    after = queue(api, msvle.monitor).json()
    assert after["counts"]["to_verify"] == 0
    assert "W4" not in [v["code"] for v in after["unsigned_visits"]]
    assert after["counts"]["unsigned_visits"] == body["counts"]["unsigned_visits"] - 1


def test_queue_is_scoped_and_filtered(
    api, msvle, participant, form, monitor_b, data_manager
) -> None:
    open_query(api, msvle.monitor, form)
    there = sledai_elsewhere(msvle).participant

    mine = queue(api, msvle.monitor).json()
    assert {r["participant_id"] for r in mine["to_verify"]} == {participant.pk}
    theirs = queue(api, monitor_b).json()
    assert {r["participant_id"] for r in theirs["to_verify"]} == {there.pk}
    assert theirs["counts"]["open_queries"] == 0

    everything = queue(api, data_manager).json()
    assert everything["counts"]["to_verify"] == 2
    assert queue(api, data_manager, "?site=ZZ01").json()["counts"]["to_verify"] == 1
    only = queue(api, data_manager, f"?participant={participant.pk}").json()
    assert only["counts"] == {**only["counts"], "to_verify": 1, "open_queries": 1}
    # A participant of another site named by id still shows nothing to its monitor.
    assert (
        queue(api, monitor_b, f"?participant={participant.pk}").json()["counts"]["to_verify"] == 0
    )

    for user in (msvle.statistician, msvle.pharmacist, msvle.trial_admin):
        refused = queue(api, user)
        assert (refused.status_code, error(refused)) == (
            403,
            "Your role does not allow you to review data in this trial.",
        )
    assert as_user(api, msvle.monitor).get("/api/v1/trials/NOPE/review-queue/").status_code == 404


def plan_sdv(participant: Participant, forms: str) -> None:
    """Set the protocol's SDV plan, as an amendment naming the forms to verify would."""
    version = participant.protocol_version
    version.definition.pop("sdv_plan", None)
    version.definition["parameters"]["sdv_forms"] = {"value": forms}
    version.save(update_fields=["definition"])


def test_queue_respects_the_sdv_plan(api, msvle, participant, form) -> None:
    plan_sdv(participant, "renal")
    assert queue(api, msvle.monitor).json()["counts"]["to_verify"] == 0
    plan_sdv(participant, "sledai2k, renal")
    assert queue(api, msvle.monitor).json()["counts"]["to_verify"] == 1
    plan_sdv(participant, "all")
    assert queue(api, msvle.monitor).json()["counts"]["to_verify"] == 1
    # The sdv_plan section: a form at level none is not counted, unless it has critical fields.
    version = participant.protocol_version
    del version.definition["parameters"]["sdv_forms"]
    for entry, expected in (
        ({"level": "none"}, 0),
        ({"level": "none", "critical": ["assessment_date"]}, 1),
    ):
        version.definition["sdv_plan"] = {"sledai2k": entry}
        version.save(update_fields=["definition"])
        assert queue(api, msvle.monitor).json()["counts"]["to_verify"] == expected


def many_rows(team: Team, participant: Participant, count: int, clock: Any) -> None:
    """`count` SLEDAI-2K forms (one per visit), each with an open and an answered query, and
    `count` completed visits without a signature."""
    from casebook.catalogue import form_type
    from review.services import query_answer, query_open

    codes = ["W4", "W8", "W12", "W16", "W20", "W24"][:count]
    for code in codes:
        visit = participant.visits.get(code=code)
        record = enter_sledai(
            team, participant, code, data={"assessment_date": visit.target_date, "dna": True}
        )
        for name in ("dna", "prot"):
            query = query_open(
                actor=team.monitor,
                ftype=form_type("sledai2k"),
                record=record,
                field_name=name,
                text="Source?",
                now=ENTERED,
            )
        clock.shift(timedelta(minutes=1))
        query_answer(
            actor=team.coordinator,
            query=query,
            response_code="other",
            text="See notes.",
            now=ENTERED,
        )
        visit.refresh_from_db()
        if visit.status != VisitStatus.COMPLETED:
            visit_record(
                actor=team.coordinator, visit=visit, actual_date=visit.target_date, now=ENTERED
            )


@pytest.mark.parametrize("count", [2, 6])
def test_queue_query_count_does_not_grow(
    api, msvle, participant, clock, count, django_assert_num_queries
) -> None:
    many_rows(msvle, participant, count, clock)
    client = as_user(api, msvle.monitor)
    client.get("/api/v1/trials/MSVLE/review-queue/")
    # 1 session, 2 user, 3 the trial (my memberships joined), 4 my memberships for the scope,
    # 5 the protocol versions (SDV plans), 6 the participants (for the sampled forms); counted:
    # 7 the unverified forms of every form type (one UNION), 8 the open and answered queries
    # and their ages, 9 the visits to sign, overdue or missed; the first rows of 10 the forms,
    # 11 the open and 12 the answered queries with participant, site and opener, 13 the visits
    # to sign, 14 overdue, 15 missed; 16-18 the session saved again. Nothing per row.
    with django_assert_num_queries(18):
        response = client.get("/api/v1/trials/MSVLE/review-queue/")
    counts = response.json()["counts"]
    assert (counts["to_verify"], counts["open_queries"], counts["answered_queries"]) == (
        count,
        count,
        count,
    )
    assert counts["unsigned_visits"] >= count

    # One list a page at a time: 1 session, 2 user, 3 the trial, 4 my memberships, 5 the
    # protocol versions, 6 the participants (sampled plans), 7 the count, 8 the page with
    # participant, site and opener, 9-11 the session saved again.
    with django_assert_num_queries(11):
        page = client.get("/api/v1/trials/MSVLE/review-queue/open-queries/?limit=1")
    assert (page.json()["count"], len(page.json()["results"])) == (count, 1)


def test_queue_lists_are_paged_and_scoped(api, msvle, participant, clock, monitor_b) -> None:
    many_rows(msvle, participant, 3, clock)
    first = queue(api, msvle.monitor, "?limit=2").json()
    assert first["counts"]["to_verify"] == 3
    assert (len(first["to_verify"]), len(first["open_queries"])) == (2, 2)

    url = "/api/v1/trials/MSVLE/review-queue/to-verify/"
    page = as_user(api, msvle.monitor).get(f"{url}?limit=2")
    assert_conforms(page, "GET", "/api/v1/trials/{code}/review-queue/to-verify/")
    body = page.json()
    assert (body["count"], len(body["results"])) == (3, 2)
    assert [r["record_id"] for r in body["results"]] == [r["record_id"] for r in first["to_verify"]]
    rest = as_user(api, msvle.monitor).get(body["next"]).json()
    assert (len(rest["results"]), rest["next"]) == (1, None)
    assert {r["participant_id"] for r in body["results"] + rest["results"]} == {participant.pk}

    answered = as_user(api, msvle.monitor).get(
        "/api/v1/trials/MSVLE/review-queue/answered-queries/?limit=1&offset=2"
    )
    assert_conforms(answered, "GET", "/api/v1/trials/{code}/review-queue/answered-queries/")
    assert (answered.json()["count"], answered.json()["results"][0]["status"]) == (3, "answered")
    visits = as_user(api, msvle.monitor).get("/api/v1/trials/MSVLE/review-queue/unsigned-visits/")
    assert_conforms(visits, "GET", "/api/v1/trials/{code}/review-queue/unsigned-visits/")
    assert visits.json()["count"] == first["counts"]["unsigned_visits"]
    bad = as_user(api, msvle.monitor).get(f"{url}?limit=0")
    assert bad.status_code == 400

    # The other site's monitor: nothing of this site, on any page, even naming the participant.
    for query in ("", "?offset=2", f"?participant={participant.pk}"):
        theirs = as_user(api, monitor_b).get(f"{url}{query}").json()
        assert (theirs["count"], theirs["results"]) == (0, [])
    refused = as_user(api, msvle.statistician).get(url)
    assert refused.status_code == 403
