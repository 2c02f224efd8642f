"""The alert pages: the workspace's alerts, filters, acknowledging, the nav badge and counts."""

from __future__ import annotations

import re
from datetime import date

import pytest

from alerts.models import Alert, AlertKind, AlertStatus
from assessments.services.visits import visit_record
from flagging.visits import visits_flag_all
from tests.alerts.test_alerts_api import (
    LATER,
    OVERDUE_AT,
    many_alerts,
    susar_alert,
    visit_alerts,
)
from tests.safety.events import data_manager
from tests.world import register


@pytest.fixture(autouse=True)
def frozen(time_machine):
    time_machine.move_to(LATER, tick=False)


def text(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def rows(page: str) -> list[str]:
    """The ids of the alert rows shown."""
    return re.findall(r'<tr id="alert-(\d+)">', page)


def buttons(page: str) -> int:
    return page.count(">Acknowledge</button>")


def test_site_staff_see_open_alerts_with_links_and_acknowledge_buttons(
    client, msvle, participant
) -> None:
    alerts = visit_alerts()
    client.force_login(msvle.coordinator)
    page = text(client.get("/alerts/"))
    assert sorted(rows(page)) == sorted(str(a.pk) for a in alerts)
    assert buttons(page) == 3
    assert f'href="/trials/participants/{participant.pk}/"' in page
    assert f'href="/casebook/{participant.pk}/"' in page
    assert "Visit overdue" in page and "Visit missed" in page
    # Shown in the site's time zone: the W1 overdue deadline is midnight in Madrid.
    assert "2026-03-12 00:00 CET" in page


def test_filters_by_status_and_kind(client, msvle, participant) -> None:
    alerts = visit_alerts()
    overdue = next(a for a in alerts if a.kind == AlertKind.VISIT_OVERDUE)
    missed = {str(a.pk) for a in alerts if a.kind == AlertKind.VISIT_MISSED}
    client.force_login(msvle.coordinator)
    assert client.post(f"/alerts/{overdue.pk}/acknowledge/").status_code == 302
    # Open alerts by default: the acknowledged one is off the worklist.
    assert set(rows(text(client.get("/alerts/")))) == missed
    assert rows(text(client.get("/alerts/?status=acknowledged&kind="))) == [str(overdue.pk)]
    assert len(rows(text(client.get("/alerts/?status=&kind=")))) == 3
    assert rows(text(client.get("/alerts/?status=&kind=visit_overdue"))) == [str(overdue.pk)]
    assert rows(text(client.get("/alerts/?status=resolved&kind="))) == []


def test_acknowledge_by_plain_post_and_by_htmx(client, msvle, participant) -> None:
    first, second, _ = visit_alerts()
    client.force_login(msvle.investigator)
    response = client.post(f"/alerts/{first.pk}/acknowledge/", {"next": "/alerts/?status="})
    assert (response.status_code, response["Location"]) == (302, "/alerts/?status=")
    first.refresh_from_db()
    assert (first.status, first.acknowledged_by) == (AlertStatus.ACKNOWLEDGED, msvle.investigator)
    assert "acknowledged" in text(client.get("/alerts/?status="))

    fragment = text(client.post(f"/alerts/{second.pk}/acknowledge/", HTTP_HX_REQUEST="true"))
    assert fragment.startswith(f'<tr id="alert-{second.pk}">')
    assert "Acknowledged" in fragment and buttons(fragment) == 0
    assert msvle.investigator.display_name() in fragment
    second.refresh_from_db()
    assert second.status == AlertStatus.ACKNOWLEDGED

    # An outside address in `next` is not followed.
    response = client.post(f"/alerts/{second.pk}/acknowledge/", {"next": "https://evil.test/"})
    assert response["Location"] == "/alerts/"


def test_a_resolved_alert_is_refused_with_a_message(client, msvle, participant) -> None:
    visit_alerts()
    w1 = participant.visits.get(code="W1")
    visit_record(actor=msvle.coordinator, visit=w1, actual_date=date(2026, 3, 16), now=LATER)
    resolved = Alert.objects.get(visit=w1, kind=AlertKind.VISIT_MISSED)
    client.force_login(msvle.coordinator)
    page = text(client.get("/alerts/?status=resolved&kind="))
    assert str(resolved.pk) in rows(page) and buttons(page) == 0
    assert "Visit recorded on 2026-03-16" in page

    response = client.post(f"/alerts/{resolved.pk}/acknowledge/", follow=True)
    assert "This alert is already resolved." in text(response)
    fragment = text(client.post(f"/alerts/{resolved.pk}/acknowledge/", HTTP_HX_REQUEST="true"))
    assert "This alert is already resolved." in fragment
    resolved.refresh_from_db()
    assert (resolved.status, resolved.acknowledged_at) == (AlertStatus.RESOLVED, None)


def test_other_site_monitor_and_roles_without_alerts(client, msvle, participant) -> None:
    alert = visit_alerts()[0]

    client.force_login(msvle.other_coordinator)
    page = text(client.get("/alerts/?status="))
    assert rows(page) == [] and "No alerts match." in page
    assert client.post(f"/alerts/{alert.pk}/acknowledge/").status_code == 404

    client.force_login(msvle.monitor)
    page = text(client.get("/alerts/"))
    assert len(rows(page)) == 3 and buttons(page) == 0
    assert client.post(f"/alerts/{alert.pk}/acknowledge/").status_code == 403
    alert.refresh_from_db()
    assert alert.status == AlertStatus.OPEN

    for user in (msvle.statistician, msvle.pharmacist, msvle.trial_admin):
        client.force_login(user)
        response = client.get("/alerts/")
        assert response.status_code == 403, user.username
        assert "does not include alerts" in response.content.decode()


def test_susar_alert_only_on_the_medical_monitors_page(client, msvle, participant) -> None:
    alert = susar_alert(msvle, participant)
    client.force_login(msvle.coordinator)
    assert rows(text(client.get("/alerts/?status=&kind="))) == []
    assert client.post(f"/alerts/{alert.pk}/acknowledge/").status_code == 404

    client.force_login(data_manager(msvle))
    page = text(client.get("/alerts/"))
    assert rows(page) == [str(alert.pk)] and buttons(page) == 0

    client.force_login(msvle.medical_monitor)
    page = text(client.get("/alerts/"))
    assert rows(page) == [str(alert.pk)] and buttons(page) == 1
    assert "SUSAR report late" in page
    assert client.post(f"/alerts/{alert.pk}/acknowledge/").status_code == 302
    alert.refresh_from_db()
    assert alert.status == AlertStatus.ACKNOWLEDGED


@pytest.mark.parametrize("count", [2, 8])
def test_alert_page_query_count_does_not_grow(
    client, msvle, participant, count, django_assert_num_queries
) -> None:
    many_alerts(participant, count)
    client.force_login(msvle.coordinator)
    # 1 session, 2 user, 3 the workspace membership (view), 4 my memberships for the alert
    # scope, 5 the page count, 6 the page of alerts joined with trial, site, participant,
    # visit, adverse event and acknowledging user; base.html's context: 7 the workspace
    # membership, 8 all my memberships; 9-11 the session saved again (savepoint, update,
    # release). Nothing per row; the nav badge loads separately.
    with django_assert_num_queries(11):
        page = text(client.get("/alerts/"))
    assert len(rows(page)) == count


def test_nav_links_with_open_count(client, msvle, participant, django_assert_num_queries) -> None:
    visit_alerts()
    client.force_login(msvle.coordinator)
    home = text(client.get("/"))
    assert 'hx-get="/alerts/nav/"' in home
    # 1 session, 2 user, 3 the workspace membership, 4 my memberships, 5 the count; 6-8 the
    # session saved again.
    with django_assert_num_queries(8):
        nav = text(client.get("/alerts/nav/"))
    assert re.search(
        r'href="/alerts/">Alerts <span class="status status-missed"[^>]*>3</span>', nav
    )
    assert 'href="/safety/clock/"' in nav

    first = Alert.objects.order_by("pk").first()
    client.post(f"/alerts/{first.pk}/acknowledge/")
    assert ">2</span>" in text(client.get("/alerts/nav/"))

    client.force_login(msvle.other_coordinator)
    nav = text(client.get("/alerts/nav/"))
    assert 'href="/alerts/">Alerts</a>' in nav and "status-missed" not in nav

    client.force_login(msvle.statistician)
    nav = text(client.get("/alerts/nav/"))
    assert "/alerts/" not in nav and "/safety/clock/" not in nav


def test_participant_list_shows_overdue_and_missed_visit_counts(client, msvle, participant) -> None:
    visits_flag_all(now=OVERDUE_AT)
    client.force_login(msvle.coordinator)
    page = text(client.get("/trials/participants/"))
    assert '<span class="status status-overdue">1 overdue</span>' in page
    assert '<span class="status status-missed">1 missed</span>' in page

    # A participant still in screening has no visits, so no badges.
    register(msvle)
    page = text(client.get("/trials/participants/"))
    assert page.count("status status-overdue") == 1
    assert page.count("status status-missed") == 1
    assert page.count('<td class="visit-flags"><span class="muted">—</span></td>') == 1
