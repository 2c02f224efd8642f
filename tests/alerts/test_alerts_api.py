"""The alerts API: who lists and acknowledges which alerts, filters, refusals and query counts."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from rest_framework.test import APIClient

from accounts.models import User
from accounts.services import system_actor
from alerts.models import Alert, AlertKind, AlertStatus
from alerts.services import AlertSpec, alerts_raise
from assessments.services.visits import visit_record
from flagging.late_reports import late_reports_flag_all
from flagging.visits import visits_flag_all
from safety.services import sae_mark_reported
from tests.personas import Team
from tests.safety.events import data_manager, enter, follow_up
from trials.models import Participant


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


# Day 0 is 2026-03-04. At midnight of 12 March (Madrid) week 1 is overdue and Day 0 missed;
# at midnight of 14 March week 1 is missed too.
OVERDUE_AT = at("2026-03-12T00:00:00+01:00")
MISSED_AT = at("2026-03-14T00:00:00+01:00")
LATER = at("2026-03-16T12:00:00+01:00")

# An SAE the site reported in time, then judged a SUSAR by the medical monitor, whose 15-day
# expedited report nobody submitted.
AWARE = datetime(2026, 4, 18, 8, 30, tzinfo=UTC)
SPONSOR_AWARE = datetime(2026, 4, 19, 7, 15, tzinfo=UTC)
SUSAR_LATE_AT = SPONSOR_AWARE + timedelta(days=15, hours=1)
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


@pytest.fixture
def api() -> APIClient:
    return APIClient()


@pytest.fixture(autouse=True)
def frozen(time_machine):
    time_machine.move_to(LATER, tick=False)


def as_user(api: APIClient, user: User) -> APIClient:
    api.force_login(user)
    return api


def listed(api: APIClient, user: User, query: str = "") -> list[dict]:
    response = as_user(api, user).get(f"/api/v1/alerts/{query}")
    assert response.status_code == 200, response.content
    return response.json()["results"]


def visit_alerts() -> list[Alert]:
    """The visit job's alerts, run at each deadline: W1 overdue, D0 missed, W1 missed."""
    visits_flag_all(now=OVERDUE_AT)
    visits_flag_all(now=MISSED_AT)
    return list(Alert.objects.order_by("pk"))


def many_alerts(participant: Participant, count: int) -> list[Alert]:
    """`count` missed-visit alerts on the participant's visits, one per finding."""
    visit = participant.visits.get(code="W1")
    return alerts_raise(
        [
            AlertSpec(
                kind=AlertKind.VISIT_MISSED,
                source_key=f"test:{n}",
                participant=participant,
                occurred_at=MISSED_AT - timedelta(hours=n),
                message=f"Finding {n}",
                visit_id=visit.pk,
            )
            for n in range(count)
        ],
        actor=system_actor(),
        now=MISSED_AT,
    )


def susar_alert(team: Team, participant: Participant) -> Alert:
    """A late SUSAR report raised by the late-report job."""
    ae = enter(team, participant, PNEUMONIA, now=AWARE + timedelta(hours=1))
    reported = AWARE + timedelta(hours=2)
    ae = sae_mark_reported(actor=team.coordinator, ae=ae, reported_at=reported, now=reported)
    follow_up(
        team,
        ae,
        {
            "sponsor_causality": "probable",
            "expectedness": "unexpected",
            "sponsor_awareness_at": SPONSOR_AWARE,
        },
        actor=team.medical_monitor,
        reason="Assessed",
        now=SPONSOR_AWARE,
    )
    late_reports_flag_all(now=SUSAR_LATE_AT)
    return Alert.objects.get(kind=AlertKind.SUSAR_LATE)


# Who lists ----------------------------------------------------------------------------------


def test_site_staff_and_their_monitor_list_their_sites_alerts(api, msvle, participant) -> None:
    alerts = visit_alerts()
    assert len(alerts) == 3
    expected = {a.pk for a in alerts}
    for user in (msvle.coordinator, msvle.investigator):
        rows = listed(api, user)
        assert {row["id"] for row in rows} == expected
        assert all(row["can_acknowledge"] for row in rows)
    rows = listed(api, msvle.monitor)
    assert {row["id"] for row in rows} == expected
    assert not any(row["can_acknowledge"] for row in rows)

    row = next(r for r in rows if r["kind"] == "visit_overdue")
    assert row["participant"] == {"id": participant.pk, "identifier": participant.identifier}
    assert (row["trial"], row["site"], row["status"]) == ("MSVLE", "VA01", "open")
    assert row["visit"]["code"] == "W1"
    # Midnight in Valladolid, the deadline that passed, on the site's clock.
    assert (row["occurred_at"], row["time_zone"]) == ("2026-03-12T00:00:00+01:00", "Europe/Madrid")


def test_other_site_and_roles_without_alerts_see_nothing(api, msvle, participant) -> None:
    visit_alerts()
    for user in (
        msvle.other_coordinator,
        msvle.statistician,
        msvle.unblinded_statistician,
        msvle.pharmacist,
        msvle.trial_admin,
    ):
        assert listed(api, user) == [], user.username
    assert len(listed(api, data_manager(msvle))) == 3
    assert len(listed(api, msvle.medical_monitor)) == 3


def test_detail_is_not_found_outside_my_sites(api, msvle, participant) -> None:
    alert = visit_alerts()[0]
    url = f"/api/v1/alerts/{alert.pk}/"
    body = as_user(api, msvle.coordinator).get(url).json()
    assert (body["id"], body["kind_label"]) == (alert.pk, alert.get_kind_display())
    for user in (msvle.other_coordinator, msvle.statistician, msvle.pharmacist):
        response = as_user(api, user).get(url)
        assert response.status_code == 404, user.username
        assert response.json()["error"]["code"] == "not_found"
    assert as_user(api, msvle.coordinator).get("/api/v1/alerts/999999/").status_code == 404
    api.logout()
    assert api.get(url).status_code in (401, 403)


# Acknowledging ------------------------------------------------------------------------------


def test_site_staff_acknowledge_once(api, msvle, participant) -> None:
    alert = visit_alerts()[0]
    url = f"/api/v1/alerts/{alert.pk}/acknowledge/"
    response = as_user(api, msvle.coordinator).post(url)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "acknowledged"
    assert body["acknowledged_by"] == msvle.coordinator.display_name()
    assert body["acknowledged_at"] == "2026-03-16T12:00:00+01:00"
    assert response["X-Time-Zone"] == "Europe/Madrid"
    assert body["can_acknowledge"] is False
    alert.refresh_from_db()
    assert (alert.status, alert.acknowledged_by) == (AlertStatus.ACKNOWLEDGED, msvle.coordinator)
    assert alert.history.latest().history_change_reason == "Acknowledged"

    # A second click changes nothing and keeps the first acknowledgement.
    again = as_user(api, msvle.investigator).post(url)
    assert again.status_code == 200
    assert again.json()["acknowledged_by"] == msvle.coordinator.display_name()


def test_other_site_coordinator_cannot_acknowledge(api, msvle, participant) -> None:
    alert = visit_alerts()[0]
    response = as_user(api, msvle.other_coordinator).post(f"/api/v1/alerts/{alert.pk}/acknowledge/")
    assert response.status_code == 404
    alert.refresh_from_db()
    assert alert.status == AlertStatus.OPEN


def test_monitor_reads_but_cannot_acknowledge(api, msvle, participant) -> None:
    alert = visit_alerts()[0]
    client = as_user(api, msvle.monitor)
    assert client.get(f"/api/v1/alerts/{alert.pk}/").status_code == 200
    response = client.post(f"/api/v1/alerts/{alert.pk}/acknowledge/")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    alert.refresh_from_db()
    assert (alert.status, alert.acknowledged_by) == (AlertStatus.OPEN, None)


def test_a_resolved_alert_cannot_be_acknowledged(api, msvle, participant) -> None:
    visit_alerts()
    w1 = participant.visits.get(code="W1")
    visit_record(actor=msvle.coordinator, visit=w1, actual_date=date(2026, 3, 16), now=LATER)
    missed = Alert.objects.get(visit=w1, kind=AlertKind.VISIT_MISSED)
    assert missed.status == AlertStatus.RESOLVED
    assert listed(api, msvle.coordinator, "?status=resolved&kind=visit_missed")[0]["id"] == (
        missed.pk
    )
    response = as_user(api, msvle.coordinator).post(f"/api/v1/alerts/{missed.pk}/acknowledge/")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "invalid_transition"
    missed.refresh_from_db()
    assert (missed.status, missed.acknowledged_at) == (AlertStatus.RESOLVED, None)


# SUSAR alerts are the sponsor's ---------------------------------------------------------------


def test_susar_alert_is_for_the_medical_monitor_not_the_site(api, msvle, participant) -> None:
    alert = susar_alert(msvle, participant)
    assert listed(api, msvle.coordinator, "?kind=susar_late") == []
    assert listed(api, msvle.monitor, "?kind=susar_late") == []
    assert as_user(api, msvle.coordinator).get(f"/api/v1/alerts/{alert.pk}/").status_code == 404
    refused = as_user(api, msvle.investigator).post(f"/api/v1/alerts/{alert.pk}/acknowledge/")
    assert refused.status_code == 404

    (row,) = listed(api, data_manager(msvle), "?kind=susar_late")
    assert (row["id"], row["can_acknowledge"]) == (alert.pk, False)
    (row,) = listed(api, msvle.medical_monitor, "?kind=susar_late")
    assert (row["id"], row["can_acknowledge"], row["adverse_event"]) == (
        alert.pk,
        True,
        alert.adverse_event_id,
    )
    response = as_user(api, msvle.medical_monitor).post(f"/api/v1/alerts/{alert.pk}/acknowledge/")
    assert response.status_code == 200
    assert response.json()["status"] == "acknowledged"


def test_medical_monitor_reads_visit_alerts_but_does_not_acknowledge_them(
    api, msvle, participant
) -> None:
    alert = visit_alerts()[0]
    rows = listed(api, msvle.medical_monitor)
    assert not any(row["can_acknowledge"] for row in rows)
    response = as_user(api, msvle.medical_monitor).post(f"/api/v1/alerts/{alert.pk}/acknowledge/")
    assert response.status_code == 403


# Filters ------------------------------------------------------------------------------------


def test_filters(api, msvle, participant) -> None:
    alerts = visit_alerts()
    overdue = next(a for a in alerts if a.kind == AlertKind.VISIT_OVERDUE)
    as_user(api, msvle.coordinator).post(f"/api/v1/alerts/{overdue.pk}/acknowledge/")
    manager = data_manager(msvle)

    def ids(query: str) -> set[int]:
        return {row["id"] for row in listed(api, manager, query)}

    everything = {a.pk for a in alerts}
    missed = {a.pk for a in alerts if a.kind == AlertKind.VISIT_MISSED}
    assert ids("") == everything
    assert ids("?kind=visit_overdue") == {overdue.pk}
    assert ids("?kind=visit_missed") == missed
    assert ids("?status=acknowledged") == {overdue.pk}
    assert ids("?status=open") == missed
    assert ids("?status=open&kind=visit_overdue") == set()
    assert ids("?site=VA01") == everything
    assert ids("?site=ZZ01") == set()
    assert ids("?trial=MSVLE&site=VA01&kind=visit_missed") == missed
    assert ids("?trial=MSCROLE") == set()
    bad = as_user(api, manager).get("/api/v1/alerts/?status=closed&kind=late")
    assert bad.status_code == 400
    assert set(bad.json()["error"]["fields"]) == {"status", "kind"}


def test_list_is_paginated_newest_deadline_first(api, msvle, participant) -> None:
    made = many_alerts(participant, 5)
    body = as_user(api, msvle.coordinator).get("/api/v1/alerts/?limit=2").json()
    assert body["count"] == 5
    assert [row["message"] for row in body["results"]] == ["Finding 0", "Finding 1"]
    assert body["next"] is not None
    assert len(made) == 5


@pytest.mark.parametrize("count", [2, 8])
def test_alert_list_query_count_does_not_grow(
    api, msvle, participant, count, django_assert_num_queries
) -> None:
    many_alerts(participant, count)
    client = as_user(api, msvle.coordinator)
    # 1 session, 2 user, 3 my memberships for the scope, 4 the page count, 5 the page of
    # alerts joined with trial, site, participant, visit, adverse event and acknowledging
    # user; 6-8 the session saved again (savepoint, update, release). Nothing per row.
    with django_assert_num_queries(8):
        response = client.get("/api/v1/alerts/")
    assert response.json()["count"] == count


# The participant list counts overdue and missed visits -----------------------------------------


def test_participant_list_api_counts_overdue_and_missed_visits(api, msvle, participant) -> None:
    visits_flag_all(now=OVERDUE_AT)
    (row,) = (
        as_user(api, msvle.coordinator).get("/api/v1/trials/MSVLE/participants/").json()["results"]
    )
    assert (row["id"], row["overdue_visits"], row["missed_visits"]) == (participant.pk, 1, 1)
    visits_flag_all(now=MISSED_AT)
    (row,) = (
        as_user(api, msvle.coordinator).get("/api/v1/trials/MSVLE/participants/").json()["results"]
    )
    assert (row["overdue_visits"], row["missed_visits"]) == (0, 2)
