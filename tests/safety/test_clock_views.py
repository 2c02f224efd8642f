"""The SAE clock endpoint and page: states and due dates for the right people, at their sites."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from rest_framework.test import APIClient

from safety.services import sae_mark_reported, susar_mark_reported
from tests.safety.events import data_manager, enter, follow_up

AWARE = datetime(2026, 4, 18, 8, 30, tzinfo=UTC)
DUE = AWARE + timedelta(hours=24)
SPONSOR_AWARE = datetime(2026, 4, 19, 7, 15, tzinfo=UTC)
NOW = DUE + timedelta(hours=2)  # the SAE report is two hours overdue

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


@pytest.fixture(autouse=True)
def frozen(time_machine):
    time_machine.move_to(NOW, tick=False)


@pytest.fixture
def api() -> APIClient:
    return APIClient()


def sae(team, participant, *, actor=None, now=AWARE + timedelta(hours=1), **extra):
    return enter(team, participant, {**PNEUMONIA, **extra}, actor=actor, now=now)


def clock(api, user, query: str = "") -> dict:
    api.force_login(user)
    response = api.get(f"/api/v1/trials/MSVLE/sae-clock/{query}")
    assert response.status_code == 200, response.content
    return response.json()


# The endpoint -------------------------------------------------------------------------------


def test_medical_monitor_sees_an_overdue_sae_with_its_due_date(api, msvle, participant) -> None:
    ae = sae(msvle, participant)
    body = clock(api, msvle.medical_monitor)
    assert body["count"] == 1
    (row,) = body["results"]
    assert row["adverse_event"] == ae.pk
    assert row["participant"] == {"id": participant.pk, "identifier": participant.identifier}
    assert (row["site"], row["verbatim_term"], row["onset_date"]) == (
        "VA01",
        "Pneumonia",
        "2026-04-17",
    )
    assert (row["sae_due_at"], row["sae_state"], row["sae_reported_at"]) == (
        "2026-04-19T10:30:00+02:00",  # on the Madrid site's clock
        "overdue",
        None,
    )
    assert (row["susar"], row["susar_state"], row["pending"]) == (False, None, True)
    assert clock(api, msvle.coordinator)["count"] == 1
    assert clock(api, data_manager(msvle))["count"] == 1


def test_other_site_and_other_roles_see_nothing(api, msvle, participant) -> None:
    sae(msvle, participant)
    for user in (msvle.other_coordinator, msvle.statistician, msvle.pharmacist):
        assert clock(api, user) == {"count": 0, "next": None, "previous": None, "results": []}
    api.force_login(msvle.coordinator)
    assert api.get("/api/v1/trials/MSCROLE/sae-clock/").status_code == 404


def test_each_site_sees_its_own_events(api, msvle, participant, other_participant) -> None:
    here = sae(msvle, participant)
    there = sae(msvle, other_participant, actor=msvle.other_coordinator)
    assert [r["adverse_event"] for r in clock(api, msvle.coordinator)["results"]] == [here.pk]
    assert [r["adverse_event"] for r in clock(api, msvle.other_coordinator)["results"]] == [
        there.pk
    ]
    assert {r["adverse_event"] for r in clock(api, msvle.medical_monitor)["results"]} == {
        here.pk,
        there.pk,
    }


def test_pending_only_and_susar_clock(api, msvle, participant) -> None:
    open_one = sae(msvle, participant)
    done = sae(msvle, participant, verbatim_term="Pyelonephritis")
    reported = AWARE + timedelta(hours=3)
    done = sae_mark_reported(actor=msvle.coordinator, ae=done, reported_at=reported, now=reported)
    susar = follow_up(
        msvle,
        done,
        {
            "sponsor_causality": "probable",
            "expectedness": "unexpected",
            "sponsor_awareness_at": SPONSOR_AWARE,
        },
        actor=msvle.medical_monitor,
        reason="Assessed",
        now=SPONSOR_AWARE,
    )
    rows = clock(api, msvle.medical_monitor)["results"]
    # The overdue report first, then the SUSAR whose 15-day clock still runs.
    assert [r["adverse_event"] for r in rows] == [open_one.pk, susar.pk]
    assert (rows[1]["sae_state"], rows[1]["susar"], rows[1]["susar_state"]) == (
        "reported on time",
        True,
        "report due",
    )
    assert rows[1]["susar_due_at"] == "2026-05-04T09:15:00+02:00"

    submitted = SPONSOR_AWARE + timedelta(hours=2)
    susar_mark_reported(actor=msvle.medical_monitor, ae=susar, reported_at=submitted, now=NOW)
    pending = clock(api, msvle.medical_monitor, "?pending=1")["results"]
    assert [r["adverse_event"] for r in pending] == [open_one.pk]
    assert len(clock(api, msvle.medical_monitor, "?pending=0")["results"]) == 2


# The page -----------------------------------------------------------------------------------


def text(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def test_page_shows_the_overdue_sae_to_the_medical_monitor(client, msvle, participant) -> None:
    ae = sae(msvle, participant)
    client.force_login(msvle.medical_monitor)
    page = text(client.get("/safety/clock/"))
    row = re.search(r'<tr class="error clock-overdue">(.*?)</tr>', page, re.S)
    assert row is not None
    assert participant.identifier in row.group(1)
    assert f'href="/casebook/{participant.pk}/adverse_events/{ae.pk}/"' in row.group(1)
    assert '<span class="status status-missed">Overdue</span>' in row.group(1)
    # Madrid time: awareness 10:30, due 10:30 the next day.
    assert "2026-04-19 10:30 CEST" in row.group(1)


def test_page_is_empty_for_the_other_site_and_refused_to_statisticians(
    client, msvle, participant
) -> None:
    sae(msvle, participant)
    client.force_login(msvle.other_coordinator)
    page = text(client.get("/safety/clock/"))
    assert participant.identifier not in page
    assert "No serious adverse events to show." in page
    client.force_login(msvle.statistician)
    response = client.get("/safety/clock/")
    assert response.status_code == 403
    assert "does not include the SAE clock" in response.content.decode()


def test_page_highlights_due_soon_and_shows_reported_late(client, msvle, participant) -> None:
    soon = sae(msvle, participant, site_awareness_at=NOW - timedelta(hours=20), now=NOW)
    calm = sae(msvle, participant, site_awareness_at=NOW - timedelta(hours=2), now=NOW)
    late = sae(msvle, participant, verbatim_term="Pyelonephritis")
    sae_mark_reported(actor=msvle.coordinator, ae=late, reported_at=NOW, now=NOW)
    client.force_login(msvle.coordinator)
    page = text(client.get("/safety/clock/"))
    (due_soon,) = re.findall(r'<tr class="warning clock-due-soon">(.*?)</tr>', page, re.S)
    assert f"/adverse_events/{soon.pk}/" in due_soon and "Due soon" in due_soon
    assert f"/adverse_events/{calm.pk}/" not in due_soon
    assert '<span class="status status-entered">Report due</span>' in page
    assert '<span class="status status-missing">Reported late</span>' in page
    pending = text(client.get("/safety/clock/?pending=1"))
    assert "Reported late" not in pending and "Due soon" in pending


@pytest.mark.parametrize("events", [1, 4])
def test_page_query_count_does_not_grow(
    client, msvle, participant, events, django_assert_num_queries
) -> None:
    for n in range(events):
        sae(msvle, participant, verbatim_term=f"Event {n}")
    client.force_login(msvle.medical_monitor)
    # 1 session, 2 user, 3 the workspace membership, 4 my memberships for the clock scope,
    # 5 the serious events counted, 6 one page of them joined with participant and site;
    # base.html's context: 7 the workspace membership, 8 all my memberships; 9-11 the session
    # saved again (savepoint, update, release). Nothing per row.
    with django_assert_num_queries(11):
        page = text(client.get("/safety/clock/"))
    assert page.count("clock-overdue") == events


def test_page_shows_one_page_of_events_most_urgent_first(
    client, msvle, participant, monkeypatch
) -> None:
    monkeypatch.setattr("ecrf.pagination.PAGE_SIZE_SHOWN", 2)
    reported = sae(msvle, participant, verbatim_term="Reported")
    sae_mark_reported(actor=msvle.coordinator, ae=reported, reported_at=DUE, now=DUE)
    overdue = [sae(msvle, participant, verbatim_term=f"Overdue {n}") for n in range(2)]
    client.force_login(msvle.coordinator)
    first = text(client.get("/safety/clock/"))
    assert all(f"/adverse_events/{ae.pk}/" in first for ae in overdue)
    assert f"/adverse_events/{reported.pk}/" not in first and "Page 1 of 2" in first
    second = text(client.get("/safety/clock/?page=2"))
    assert f"/adverse_events/{reported.pk}/" in second
    assert not any(f"/adverse_events/{ae.pk}/" in second for ae in overdue)
