"""The audit trail: every change to a participant's data in time order, blinded for blinded
users, filtered, and exported as CSV with the same rows."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.models import User
from assessments.services import form_save
from casebook.catalogue import form_type
from casebook.review_selectors import AUDIT_CSV_HEADER, audit_trail, audit_trail_csv
from tests.assessments.test_infusion_form import ADMINISTRATION, PRODUCT
from tests.openapi import assert_conforms
from tests.personas import Team
from tests.world import ENTERED, enter_sledai, grant_release, not_of_childbearing_potential
from trials.models import Participant

CELLS = Decimal("127.35")
BLINDED = ("investigator", "coordinator", "monitor", "medical_monitor", "statistician")


@pytest.fixture(autouse=True)
def clock(time_machine):
    time_machine.move_to(ENTERED, tick=False)
    return time_machine


@pytest.fixture
def api() -> APIClient:
    return APIClient()


def trail_url(participant: Participant, suffix: str = "/", query: str = "") -> str:
    return f"/api/v1/participants/{participant.pk}/audit-trail{suffix}{query}"


def get(api: APIClient, user: User, url: str) -> Any:
    api.force_login(user)
    return api.get(url)


def csv_rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def corrected_sledai(team: Team, participant: Participant, clock: Any) -> Any:
    """Entered by the investigator a day after the participant's last change, corrected by the
    coordinator two days later."""
    clock.shift(timedelta(days=1))
    enter_sledai(team, participant, now=ENTERED + timedelta(days=1))
    clock.shift(timedelta(days=2))
    return enter_sledai(
        team,
        participant,
        data={"arth": True, "dna": False},
        actor=team.coordinator,
        expected_version=1,
        reason="Corrected from the source notes",
        now=ENTERED + timedelta(days=3),
    )


def infusion_with_product(team: Team, participant: Participant, clock: Any) -> Any:
    """The coordinator records the administration; the pharmacist the product, with its cell
    count, which reveals the arm."""
    d0 = participant.visits.get(code="D0")
    not_of_childbearing_potential(team, participant, now=ENTERED)
    clock.shift(timedelta(hours=1))
    form_save(
        actor=team.coordinator,
        ftype=form_type("infusion"),
        participant=participant,
        visit=d0,
        data=ADMINISTRATION,
        now=ENTERED,
    )
    clock.shift(timedelta(hours=1))
    return form_save(
        actor=team.pharmacist,
        ftype=form_type("infusion"),
        participant=participant,
        visit=d0,
        data={**PRODUCT, "cell_count_1e6": CELLS},
        expected_version=1,
        reason="Product record from pharmacy",
        now=ENTERED,
    )


def test_rows_in_time_order_with_who_old_new_and_reason(msvle, participant, clock) -> None:
    form = corrected_sledai(msvle, participant, clock)
    rows = audit_trail(msvle.monitor, participant)
    assert [r.when for r in rows] == sorted(r.when for r in rows)

    sledai = [r for r in rows if r.form_code == "sledai2k"]
    created = [r for r in sledai if r.kind == "created"]
    assert {r.who for r in created} == {msvle.investigator.display_name()}
    assert {r.record_id for r in sledai} == {form.pk}
    assert {r.visit for r in sledai} == {"W4"}
    assert ("dna", None, True) in [(r.field, r.old, r.new) for r in created]
    changes = [(r.field, r.old, r.new, r.who, r.reason) for r in sledai if r.kind == "changed"]
    who = msvle.coordinator.display_name()
    reason = "Corrected from the source notes"
    assert ("arth", False, True, who, reason) in changes
    assert ("dna", True, False, who, reason) in changes
    # The derived score changed with them, under the same reason.
    assert {field for field, *_ in changes} >= {"arth", "dna", "total"}
    assert all(r.when == ENTERED + timedelta(days=3) for r in sledai if r.kind == "changed")
    # The correction comes last: nothing happened after it.
    assert rows[-1].kind == "changed" and rows[-1].form_code == "sledai2k"


def test_trail_covers_participant_visits_consent_and_eligibility(msvle, participant) -> None:
    rows = audit_trail(msvle.coordinator, participant)
    assert {r.form_code for r in rows} >= {"participant", "visit", "consent", "eligibility"}
    statuses = [
        (r.old, r.new) for r in rows if r.form_code == "participant" and r.field == "status"
    ]
    assert ("eligible", "randomized") in statuses
    answers = {(r.form_label, r.new) for r in rows if r.form_code == "eligibility"}
    assert {("Eligibility IN01", True), ("Eligibility EX01", False)} <= answers
    assert ("1.0", "form_version") in [(r.new, r.field) for r in rows if r.form_code == "consent"]
    d0 = [r for r in rows if r.form_code == "visit" and r.visit == "D0"]
    assert d0 and {r.kind for r in d0} == {"created"}


def test_api_and_csv_give_the_same_rows_with_a_header(api, msvle, participant, clock) -> None:
    corrected_sledai(msvle, participant, clock)
    body = get(api, msvle.monitor, trail_url(participant)).json()["results"]
    response = get(api, msvle.monitor, trail_url(participant, ".csv"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    table = csv_rows(response.getvalue().decode())
    assert tuple(table[0]) == AUDIT_CSV_HEADER
    assert len(table) - 1 == len(body)
    last = dict(zip(AUDIT_CSV_HEADER, table[-1], strict=True))
    assert last == {
        **last,
        "form_code": "sledai2k",
        "kind": "changed",
        "reason": "Corrected from the source notes",
        "visit": "W4",
    }
    arth = next(
        dict(zip(AUDIT_CSV_HEADER, row, strict=True))
        for row in table[1:]
        if row[AUDIT_CSV_HEADER.index("field")] == "arth"
    )
    assert (arth["old"], arth["new"], arth["who"]) == (
        "false",
        "true",
        msvle.coordinator.display_name(),
    )
    # On the clock of the site in Madrid, with its offset: the same instant.
    when = datetime.fromisoformat(arth["when"])
    assert when == ENTERED + timedelta(days=3)
    assert when.utcoffset() == ZoneInfo("Europe/Madrid").utcoffset(when.replace(tzinfo=None))
    assert (body[-1]["form_code"], body[-1]["form"], body[-1]["kind"]) == (
        "sledai2k",
        "SLEDAI-2K",
        "changed",
    )


@pytest.mark.parametrize("role", BLINDED)
def test_blinded_users_never_see_revealing_fields(api, msvle, participant, clock, role) -> None:
    infusion_with_product(msvle, participant, clock)
    user = getattr(msvle, role)
    text = get(api, user, trail_url(participant, ".csv")).getvalue().decode()
    for revealing in ("cell_count_1e6", "kit_number", "product_lot", "viability_pct"):
        assert revealing not in text
    for value in (str(CELLS), "K-0042", "LOT-7", "92.5", "dose_cells_per_kg"):
        assert value not in text
    body = get(api, user, trail_url(participant, query="?form=infusion")).json()["results"]
    fields = {row["field"] for row in body}
    assert "volume_ml" in fields
    assert not fields & {"cell_count_1e6", "kit_number", "within_tolerance"}
    # The pharmacist's change touched only product fields: the reader learns nothing of it
    # beyond the site's own entry.
    assert "Product record from pharmacy" not in text


def test_pharmacist_sees_the_product_but_not_efficacy_forms(api, msvle, participant, clock) -> None:
    infusion_with_product(msvle, participant, clock)
    corrected_sledai(msvle, participant, clock)
    table = csv_rows(get(api, msvle.pharmacist, trail_url(participant, ".csv")).getvalue().decode())
    rows = [dict(zip(AUDIT_CSV_HEADER, row, strict=True)) for row in table[1:]]
    cells = next(r for r in rows if r["field"] == "cell_count_1e6")
    assert (cells["old"], cells["new"], cells["reason"]) == (
        "",
        str(CELLS),
        "Product record from pharmacy",
    )
    assert not [r for r in rows if r["form_code"] == "sledai2k"]
    # The unblinded statistician sees the product once a DSMB release (or the lock) allows it.
    blind = audit_trail(msvle.unblinded_statistician, participant, form_code="infusion")
    assert "cell_count_1e6" not in {r.field for r in blind}
    grant_release(msvle)
    unblinded = audit_trail(msvle.unblinded_statistician, participant, form_code="infusion")
    assert "cell_count_1e6" in {r.field for r in unblinded}


def test_filters_by_form_person_and_days_at_the_site(api, msvle, participant, clock) -> None:
    corrected_sledai(msvle, participant, clock)
    everything = audit_trail(msvle.monitor, participant)
    only = audit_trail(msvle.monitor, participant, form_code="sledai2k")
    assert only and {r.form_code for r in only} == {"sledai2k"}
    by_coordinator = audit_trail(
        msvle.monitor, participant, form_code="sledai2k", user_filter=msvle.coordinator.pk
    )
    assert by_coordinator and {r.kind for r in by_coordinator} == {"changed"}
    by_name = audit_trail(
        msvle.monitor, participant, user_filter=msvle.investigator.display_name().upper()
    )
    assert by_name and {r.who for r in by_name} == {msvle.investigator.display_name()}

    # The correction happened on 4 September at the site; the entry on the 2nd.
    after = audit_trail(msvle.monitor, participant, since=date(2026, 9, 3))
    assert after and {r.kind for r in after} == {"changed"}
    before = audit_trail(msvle.monitor, participant, until=date(2026, 9, 2))
    assert len(before) == len(everything) - len(after)
    assert audit_trail(msvle.monitor, participant, since=ENTERED + timedelta(days=3)) == after

    url = trail_url(participant, query="?form=sledai2k&since=2026-09-03")
    assert get(api, msvle.monitor, url).json()["count"] == len(after)
    csv_text = get(api, msvle.monitor, trail_url(participant, ".csv", "?since=2026-09-03"))
    assert len(csv_rows(csv_text.getvalue().decode())) == len(after) + 1
    bad = get(api, msvle.monitor, trail_url(participant, query="?since=yesterday"))
    assert bad.status_code == 400


def test_the_first_and_last_days_of_the_calendar_are_answered(
    api, client, msvle, participant, clock
) -> None:
    """The day after 9999-12-31 does not exist: `until` that day means no end at all."""
    corrected_sledai(msvle, participant, clock)
    everything = audit_trail(msvle.monitor, participant)
    assert audit_trail(msvle.monitor, participant, until=date.max) == everything
    assert audit_trail(msvle.monitor, participant, since=date.min, until=date.max) == everything
    assert audit_trail(msvle.monitor, participant, since=date.max) == []
    client.force_login(msvle.monitor)
    for query, count in (
        ("?until=9999-12-31", len(everything)),
        ("?since=0001-01-01&until=9999-12-31", len(everything)),
        ("?since=9999-12-31", 0),
    ):
        response = get(api, msvle.monitor, trail_url(participant, query=query))
        assert response.status_code == 200, response.content
        assert response.json()["count"] == count
        response = get(api, msvle.monitor, trail_url(participant, ".csv", query))
        assert len(csv_rows(response.getvalue().decode())) == count + 1
        page = client.get(f"/review/participants/{participant.pk}/audit-trail/{query}")
        assert page.status_code == 200
        assert page.context["page"].paginator.count == count
        page_csv = client.get(f"/review/participants/{participant.pk}/audit-trail.csv{query}")
        assert len(csv_rows(page_csv.getvalue().decode())) == count + 1


def test_other_site_and_outsiders_get_404(api, msvle, participant, monitor_b) -> None:
    for user in (monitor_b, msvle.other_coordinator):
        assert get(api, user, trail_url(participant)).status_code == 404
        assert get(api, user, trail_url(participant, ".csv")).status_code == 404


def test_csv_cells_never_run_as_formulas(msvle, participant, clock) -> None:
    enter_sledai(msvle, participant)
    clock.shift(timedelta(hours=1))
    enter_sledai(
        msvle,
        participant,
        data={"arth": True},
        actor=msvle.coordinator,
        expected_version=1,
        reason='=HYPERLINK("http://example.org")',
    )
    text = audit_trail_csv(audit_trail(msvle.monitor, participant, form_code="sledai2k"))
    assert "'=HYPERLINK" in text
    assert ",=HYPERLINK" not in text


def test_query_count_does_not_grow_with_the_changes(msvle, participant, clock) -> None:
    def count_queries() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            audit_trail(msvle.monitor, participant)
        return len(captured)

    form = enter_sledai(msvle, participant)
    few = count_queries()
    for version in range(1, 6):
        clock.shift(timedelta(hours=1))
        enter_sledai(
            msvle,
            participant,
            data={"arth": version % 2 == 1},
            actor=msvle.coordinator,
            expected_version=version,
            reason=f"Change {version}",
        )
    assert form.pk
    assert count_queries() == few


def test_renaming_a_user_never_rewrites_who_did_past_entries(
    api, msvle, participant, clock
) -> None:
    corrected_sledai(msvle, participant, clock)
    coordinator = msvle.coordinator
    was_name, was_username = coordinator.display_name(), coordinator.username
    # Later the account is renamed, and another user takes the coordinator's old display name.
    coordinator.username, coordinator.printed_name = "renamed_user", "Someone Else"
    coordinator.save()
    impostor = msvle.monitor
    impostor.printed_name = was_name
    impostor.save()

    rows = [
        r
        for r in audit_trail(msvle.monitor, participant, form_code="sledai2k")
        if r.kind == "changed"
    ]
    assert rows and {(r.who, r.username, r.who_id) for r in rows} == {
        (was_name, was_username, coordinator.pk)
    }
    # The CSV and API carry both names, and the page shows the username beside the name.
    header, *lines = csv_rows(audit_trail_csv(rows))
    assert {(line[header.index("who")], line[header.index("username")]) for line in lines} == {
        (was_name, was_username)
    }
    body = get(api, msvle.monitor, trail_url(participant, query="?form=sledai2k")).json()["results"]
    changed = [row for row in body if row["kind"] == "changed"]
    assert {(row["who"], row["username"]) for row in changed} == {(was_name, was_username)}
    # Filtering by the username kept at the time finds the changes; the new one finds none.
    assert audit_trail(msvle.monitor, participant, user_filter=was_username, form_code="sledai2k")
    assert not audit_trail(msvle.monitor, participant, user_filter="renamed_user")


def test_trail_is_paged_and_its_queries_do_not_grow_with_the_changes(
    api, client, msvle, participant, clock, monitor_b, monkeypatch
) -> None:
    monkeypatch.setattr("casebook.review_views.AUDIT_PAGE_SIZE", 3)
    client.force_login(msvle.monitor)
    page_url = f"/review/participants/{participant.pk}/audit-trail/?form=sledai2k"
    urls = (trail_url(participant, query="?form=sledai2k&limit=3"), page_url)

    def queries_and_rows() -> tuple[list[int], int]:
        counts = []
        for url in urls:
            with CaptureQueriesContext(connection) as run:
                response = (api if url.startswith("/api/") else client).get(url)
            assert response.status_code == 200
            counts.append(len(run.captured_queries))
        with CaptureQueriesContext(connection) as run:
            streamed = get(api, msvle.monitor, trail_url(participant, ".csv", "?form=sledai2k"))
            lines = csv_rows(streamed.getvalue().decode())
        return [*counts, len(run.captured_queries)], len(lines) - 1

    api.force_login(msvle.monitor)
    for code in ("W4", "W8"):
        enter_sledai(msvle, participant, code, data={"assessment_date": ENTERED.date()})
    few, few_rows = queries_and_rows()
    for code in ("W12", "W16", "W20", "W24"):
        enter_sledai(msvle, participant, code, data={"assessment_date": ENTERED.date()})
    many, many_rows = queries_and_rows()
    assert many_rows > few_rows > 3
    assert many == few

    answered = get(api, msvle.monitor, urls[0])
    assert_conforms(answered, "GET", "/api/v1/participants/{participant_id}/audit-trail/")
    body = answered.json()
    assert (body["count"], len(body["results"])) == (many_rows, 3)
    rest = get(api, msvle.monitor, f"{urls[0]}&offset=3").json()["results"]
    whole = get(api, msvle.monitor, trail_url(participant, query="?form=sledai2k&limit=500"))
    assert body["results"] + rest == whole.json()["results"][:6]
    page = client.get(page_url)
    assert (page.context["page"].paginator.count, len(page.context["rows"])) == (many_rows, 3)
    assert 'href="?form=sledai2k&amp;page=2"' in page.getvalue().decode()
    second = client.get(f"{page_url}&page=2")
    assert second.context["rows"] == whole_rows(msvle, participant)[3:6]
    # The other site's monitor: no page of this trail.
    for url in (f"{urls[0]}&offset=3", trail_url(participant, ".csv")):
        assert get(api, monitor_b, url).status_code == 404
    client.force_login(monitor_b)
    assert client.get(f"{page_url}&page=2").status_code == 404


def whole_rows(team: Team, participant: Participant) -> list[Any]:
    return audit_trail(team.monitor, participant, form_code="sledai2k")
