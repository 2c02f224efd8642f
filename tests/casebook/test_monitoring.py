"""Monitoring pages: the dashboard of the sites a monitor covers (numbers, links, trends, a
query count that does not grow), the monitoring visit report (page and CSV), and who is
refused them."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.services import system_actor
from assessments.deviations import DeviationSpec, deviations_draft
from assessments.services.visits import visit_record
from casebook.catalogue import form_type
from review.services import query_answer, query_close, query_open, sdv_verify
from tests.casebook.test_review_api import as_user
from tests.openapi import assert_conforms
from tests.personas import NOW
from tests.world import ENTERED, enter_sledai, make_eligible, register

DASHBOARD = "/review/monitoring/"
API = "/api/v1/trials/MSVLE/monitoring/"
REPORT = "/review/monitoring/report/"


@pytest.fixture(autouse=True)
def clock(time_machine):
    time_machine.move_to(ENTERED, tick=False)
    return time_machine


def text(response: Any) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def counts(page: str, site: str) -> dict[str, int]:
    """The numbers of one site's section of the dashboard, by their data-count name."""
    section = re.search(
        rf'<section class="card dashboard-site" id="site-{site}">(.*?)</section>', page, re.S
    )
    assert section, site
    return {k: int(v) for k, v in re.findall(r'data-count="([\w-]+)">(\d+)<', section.group(1))}


def ask(user: Any, at: Any) -> Any:
    return query_open(
        actor=user,
        ftype=form_type("sledai2k"),
        record=at[0],
        field_name=at[1],
        text="Which source shows this?",
        now=at[2],
    )


def more_work(msvle: Any, participant: Any) -> Any:
    """Forms at two more visits, completed without a signature; another participant in
    screening with a form; queries 40 and 10 days old and one answered; a verification; a
    deviation drafted. Returns the W8 and W12 forms."""
    w8, w12 = (participant.visits.get(code=code) for code in ("W8", "W12"))
    w8_form = enter_sledai(msvle, participant, "W8", data={"assessment_date": w8.target_date})
    w12_form = enter_sledai(msvle, participant, "W12", data={"assessment_date": w12.target_date})
    newcomer = make_eligible(msvle, register(msvle))
    enter_sledai(msvle, newcomer, "SEL", data={"assessment_date": NOW.date(), "arth": True})
    for visit in (w8, w12):
        visit.refresh_from_db()
        visit_record(
            actor=msvle.coordinator, visit=visit, actual_date=visit.target_date, now=ENTERED
        )
    ask(msvle.monitor, (w8_form, "dna", ENTERED - timedelta(days=40)))
    ask(msvle.monitor, (w8_form, "prot", ENTERED - timedelta(days=10)))
    answered = ask(msvle.monitor, (w12_form, "dna", ENTERED - timedelta(days=2)))
    query_answer(
        actor=msvle.coordinator,
        query=answered,
        response_code="confirmed_correct",
        text="As in the lab report.",
        now=ENTERED,
    )
    sdv_verify(
        actor=msvle.monitor,
        form_code="sledai2k",
        record=w12_form,
        now=ENTERED,
        override=True,
        reason="Lab report seen at the site",
    )
    deviations_draft(
        [
            DeviationSpec(
                visit=w8,
                category="visit_window",
                source_key="monitoring-test",
                occurred_on=w8.target_date,
                description="Visit outside its window",
            )
        ],
        actor=system_actor(),
        now=ENTERED,
    )
    return w8_form, w12_form


def test_dashboard_and_visit_report_of_a_site(client: Client, msvle, participant) -> None:
    enter_sledai(msvle, participant)
    client.force_login(msvle.monitor)
    assert 'id="monitoring-start"' in text(client.get("/"))
    site = msvle.site.code

    with CaptureQueriesContext(connection) as small:
        text(client.get(DASHBOARD))
    w8, w12 = more_work(msvle, participant)
    with CaptureQueriesContext(connection) as larger:
        page = text(client.get(DASHBOARD))
    # The page reads the same number of queries with two participants, four forms, queries,
    # a verification and a deviation as with one form: every number is counted by the
    # database.
    assert len(larger) == len(small)

    found = counts(page, site)
    assert (found["open-0"], found["open-1"], found["open-2"]) == (0, 1, 1)
    assert found["answered"] == 1
    assert found["to_sign"] >= 2 and found["forms_missing"] >= 1
    assert (found["deviations_to_confirm"], found["deviations-visit_window"]) == (1, 1)
    assert f'href="/review/?site={site}#to-verify"' in page
    assert f'href="/review/monitoring/report/?site={site}#deviations"' in page
    # Weeks begin on Monday, site time: ENTERED (Tuesday 1 September) saw the verification;
    # the week before, the query raised on Sunday 30 August.
    weeks = dict(re.findall(r"<tr><td>(2026-[\d-]+)</td>((?:<td>\d+</td>){3})</tr>", page))
    assert len(weeks) == 8
    assert weeks["2026-08-31"] == "<td>0</td><td>0</td><td>1</td>"
    assert weeks["2026-08-24"] == "<td>1</td><td>0</td><td>0</td>"
    svg = client.get(f"/review/monitoring/trends.svg?site={site}")
    assert svg["Content-Type"].startswith("image/svg+xml") and b"Queries opened" in svg.content

    # The queue the links lead to counts the same forms to verify: the entered forms but
    # W12, verified by override.
    queue = text(client.get(f"/review/?site={site}"))
    assert f'data-count="to_verify">{found["to_verify"]}<' in queue
    assert 'id="verify-sledai2k-' in queue and f"verify-sledai2k-{w12.pk}" not in queue
    # An age band leads to the open queries of that age; answered ones stay listed.
    oldest = f"/review/?site={site}&amp;age=%3E30#open-queries"
    assert f'href="{oldest}"' in page
    queue = text(client.get(oldest.replace("&amp;", "&")))
    assert 'data-count="open_queries">1<' in queue and 'data-count="answered_queries">1<' in queue

    # The monitoring visit report of the site for August and the first of September.
    closed = ask(msvle.monitor, (w8, "arth", ENTERED - timedelta(days=60)))
    query_answer(
        actor=msvle.coordinator,
        query=closed,
        response_code="confirmed_correct",
        text="Seen in the notes.",
        now=ENTERED - timedelta(days=51),
    )
    query_close(actor=msvle.monitor, query=closed, text="", now=ENTERED - timedelta(days=50))
    site = msvle.site
    period = f"site={site.code}&first=2026-08-01&last=2026-09-01"
    page = text(client.get(f"{REPORT}?{period}"))

    verified = re.search(r'<section id="verified">(.*?)</section>', page, re.S).group(1)
    assert "(1)" in verified and "W12" in verified and participant.identifier in verified
    assert "Lab report seen at the site" in verified
    assert msvle.monitor.display_name() in verified
    # Times on the site's clock.
    local = ENTERED.astimezone(ZoneInfo(site.time_zone))
    assert local.strftime("%Y-%m-%d %H:%M") in verified
    raised = re.search(r'<section id="queries">(.*?)</section>', page, re.S).group(1)
    # Raised in August: 10 and 2 days before 1 September; not 40 or 60 days before.
    assert raised.count('<tr id="query-') == 2
    findings = re.search(r'<section id="findings">(.*?)</section>', page, re.S).group(1)
    assert findings.count('<tr id="query-') == 3
    assert f'id="query-{closed.pk}"' not in findings
    assert "Visit outside its window" in findings

    csv = client.get(f"/review/monitoring/report.csv?{period}")
    assert csv["Content-Disposition"].endswith(
        f'monitoring-visit-{site.code}-2026-08-01-2026-09-01.csv"'
    )
    lines = csv.content.decode().splitlines()
    assert lines[0] == "section,participant,visit,form,record_id,what,by,at,state,note"
    assert any(
        line.startswith(f"Verified,{participant.identifier},W12,SLEDAI-2K,")
        and local.isoformat() in line
        and line.endswith("Lab report seen at the site")
        for line in lines
    )
    assert sum(line.startswith("Query raised,") for line in lines) == 2
    assert sum(line.startswith("Open finding: query,") for line in lines) == 3
    assert any(line.startswith("Open finding: deviation,") for line in lines)
    backwards = text(client.get(f"{REPORT}?site={site.code}&first=2026-09-02&last=2026-09-01"))
    assert "The first day comes after the last." in backwards


def test_monitoring_pages_are_refused_to_the_wrong_people(
    client: Client, msvle, participant, monitor_b, data_manager
) -> None:
    enter_sledai(msvle, participant)
    home, other = msvle.site.code, msvle.other_site.code
    client.force_login(monitor_b)
    page = text(client.get(DASHBOARD))
    assert f'id="site-{other}"' in page and f'id="site-{home}"' not in page
    for url in (
        f"{DASHBOARD}?site={home}",
        f"{DASHBOARD}trends.svg?site={home}",
        f"{REPORT}?site={home}",
        f"/review/monitoring/report.csv?site={home}",
    ):
        assert client.get(url).status_code == 404, url
    # Data management monitors every site.
    client.force_login(data_manager)
    page = text(client.get(DASHBOARD))
    assert f'id="site-{other}"' in page and f'id="site-{home}"' in page
    # The API answers the same, site by site.
    api = APIClient()
    theirs = as_user(api, monitor_b).get(API)
    assert [row["site"] for row in theirs.json()] == [other]
    assert as_user(api, monitor_b).get(f"{API}?site={home}").status_code == 404
    everyone = as_user(api, data_manager).get(API)
    assert_conforms(everyone, "GET", "/api/v1/trials/{code}/monitoring/")
    (mine,) = [row for row in everyone.json() if row["site"] == home]
    assert mine["to_verify"] >= 1 and len(mine["weeks"]) == 8
    assert as_user(api, msvle.coordinator).get(API).status_code == 403
    client.force_login(msvle.coordinator)
    assert client.get(DASHBOARD).status_code == 403
    assert client.get(REPORT).status_code == 403
    assert 'id="monitoring-start"' not in text(client.get("/"))
