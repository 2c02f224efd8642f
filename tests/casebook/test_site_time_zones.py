"""Date-times typed on a form are times on the clock of the participant's site, through the
pages and through the API; storage is UTC; the clocks' changes of Madrid and Santiago refused or
asked about, never guessed; another site's user learns nothing. Every page and API route about
one participant answers on the site's clock and names the zone; lists that span sites show each
row on its own site's clock; the audit trail dates changes, and the times changed, on it."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from rest_framework.test import APIClient

from assessments.services import form_save
from casebook.catalogue import form_type
from ecrf.errors import DomainError
from exports.base import ExportContext
from review.services.queries import query_open
from safety.models import AdverseEvent
from tests.casebook.blinding import ADMINISTRATION, PRODUCT
from tests.exports.dataset_fixtures import rows_of
from tests.world import make_eligible, not_of_childbearing_potential, register

# Well after both 2026 clock changes of Madrid (29 March, 25 October) and of Santiago
# (4 April back, 6 September forward).
LATE_2026 = datetime(2026, 11, 20, 0, 55, tzinfo=UTC)  # 01:55 in Madrid, 21:55 in Santiago

PNEUMONIA = {
    "verbatim_term": "Pneumonia",
    "onset_date": "2026-03-20",
    "ctcae_grade": 3,
    "hospitalisation": True,
    "investigator_causality": "possible",
    "outcome": "recovering",
    "ongoing": True,
}


@pytest.fixture(autouse=True)
def late_2026():
    with time_machine.travel(LATE_2026, tick=False):
        yield


@pytest.fixture
def api() -> APIClient:
    return APIClient()


@pytest.fixture
def chilean(mscrole):
    """A consented participant of MSC-ROLE at its site in Santiago de Chile."""
    return make_eligible(mscrole)


def ae_url(participant, suffix=""):
    return f"/api/v1/participants/{participant.pk}/forms/adverse_events/{suffix}"


def page_url(participant, suffix="new/"):
    return f"/casebook/{participant.pk}/adverse_events/{suffix}"


def api_enter(api, team, participant, aware_at):
    api.force_login(team.coordinator)
    return api.post(
        ae_url(participant),
        {"data": {**PNEUMONIA, "site_awareness_at": aware_at}},
        format="json",
    )


def page_enter(client, team, participant, aware_at, **extra):
    client.force_login(team.coordinator)
    form = {**PNEUMONIA, "hospitalisation": "true", "ongoing": "true"}
    return client.post(page_url(participant), {**form, "site_awareness_at": aware_at, **extra})


def stored(participant) -> datetime:
    ae = AdverseEvent.objects.filter(participant=participant).latest("pk")
    assert ae.site_awareness_at is not None
    return ae.site_awareness_at.astimezone(UTC)


def export_context(team) -> ExportContext:
    """The blinded export of the team's trial as it stands now."""
    trial = team.trial
    return ExportContext(
        trial=trial,
        protocol_version=trial.protocol_versions.order_by("-number").first(),
        as_of=LATE_2026,
        blinded=True,
    )


def error_text(response) -> str:
    return str(response.json()["error"]["fields"])


# The API ------------------------------------------------------------------------------------


def test_api_reads_a_naive_time_on_the_site_clock_and_names_the_zone(api, msvle, participant):
    # Site aware at 01:50 in Valladolid, five minutes ago: not in the future.
    response = api_enter(api, msvle, participant, "2026-11-20T01:50")
    assert response.status_code == 201, response.json()
    assert response["X-Time-Zone"] == "Europe/Madrid"
    body = response.json()
    assert body["site_awareness_at"] == "2026-11-20T01:50:00+01:00"
    assert stored(participant) == datetime(2026, 11, 20, 0, 50, tzinfo=UTC)
    # The SAE report is due 24 hours after the site became aware.
    ae = AdverseEvent.objects.get(pk=body["id"])
    assert ae.sae_report_due_at == datetime(2026, 11, 21, 0, 50, tzinfo=UTC)
    read = api.get(ae_url(participant, f"{body['id']}/"))
    assert read["X-Time-Zone"] == "Europe/Madrid"
    assert read.json()["site_awareness_at"] == "2026-11-20T01:50:00+01:00"


def test_api_takes_an_offset_as_given(api, msvle, participant):
    response = api_enter(api, msvle, participant, "2026-11-19T23:50:00Z")
    assert response.status_code == 201, response.json()
    assert stored(participant) == datetime(2026, 11, 19, 23, 50, tzinfo=UTC)
    assert response.json()["site_awareness_at"] == "2026-11-20T00:50:00+01:00"


@dataclass(frozen=True)
class ClockChanges:
    """A site's two clock changes of 2026: a time skipped, a time shown twice with its two
    offsets, and an ordinary time just after the skipped hour."""

    team: str
    subject: str
    zone: str
    skipped: str
    twice: str
    earlier: str
    later: str
    second_stored: datetime
    ordinary: str
    ordinary_stored: datetime
    ordinary_shown: str


MADRID = ClockChanges(
    team="msvle",
    subject="participant",
    zone="Europe/Madrid",
    skipped="2026-03-29T02:30",
    twice="2026-10-25T02:30",
    earlier="+02:00",
    later="+01:00",
    second_stored=datetime(2026, 10, 25, 1, 30, tzinfo=UTC),
    ordinary="2026-03-29T03:30",
    ordinary_stored=datetime(2026, 3, 29, 1, 30, tzinfo=UTC),
    ordinary_shown="2026-03-29T03:30:00+02:00",
)
SANTIAGO = ClockChanges(
    team="mscrole",
    subject="chilean",
    zone="America/Santiago",
    skipped="2026-09-06T00:30",
    twice="2026-04-04T23:30",
    earlier="-03:00",
    later="-04:00",
    second_stored=datetime(2026, 4, 5, 3, 30, tzinfo=UTC),
    ordinary="2026-09-06T01:30",
    ordinary_stored=datetime(2026, 9, 6, 4, 30, tzinfo=UTC),
    ordinary_shown="2026-09-06T01:30:00-03:00",
)


@pytest.mark.parametrize("site", [MADRID, SANTIAGO], ids=["madrid", "santiago"])
def test_api_at_the_clock_changes(api, request, site):
    team, subject = request.getfixturevalue(site.team), request.getfixturevalue(site.subject)
    day, hour = site.skipped.split("T")
    skipped = api_enter(api, team, subject, site.skipped)
    assert skipped.status_code == 400
    assert f"{hour} on {day} does not exist in {site.zone}" in error_text(skipped)

    day, hour = site.twice.split("T")
    twice = api_enter(api, team, subject, site.twice)
    assert twice.status_code == 400
    message = error_text(twice)
    assert f"{hour} on {day} happens twice in {site.zone}" in message
    assert f"{site.twice}{site.earlier} for the first" in message
    assert f"{site.twice}{site.later} for the second" in message
    assert not AdverseEvent.objects.filter(participant=subject).exists()

    second = api_enter(api, team, subject, f"{site.twice}{site.later}")
    assert second.status_code == 201, second.json()
    assert second["X-Time-Zone"] == site.zone
    assert stored(subject) == site.second_stored
    assert second.json()["site_awareness_at"] == f"{site.twice}:00{site.later}"

    ordinary = api_enter(api, team, subject, site.ordinary)
    assert ordinary.status_code == 201, ordinary.json()
    assert stored(subject) == site.ordinary_stored
    assert ordinary.json()["site_awareness_at"] == site.ordinary_shown


def test_api_reads_summer_time_before_the_clocks_go_back(api, msvle, participant):
    summer = api_enter(api, msvle, participant, "2026-10-25T01:50")
    assert summer.status_code == 201, summer.json()
    assert stored(participant) == datetime(2026, 10, 24, 23, 50, tzinfo=UTC)
    assert summer.json()["site_awareness_at"] == "2026-10-25T01:50:00+02:00"


def test_api_infusion_at_ten_is_exported_at_ten(api, msvle, participant):
    not_of_childbearing_potential(msvle, participant)
    api.force_login(msvle.pharmacist)
    visit = participant.visits.get(code="D0")
    data = {
        **ADMINISTRATION,
        **PRODUCT,
        "start_time": "2026-03-04T10:00",
        "stop_time": "2026-03-04T10:45",
    }
    response = api.post(
        f"/api/v1/participants/{participant.pk}/forms/infusion/",
        {"visit": visit.pk, "data": data},
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["start_time"] == "2026-03-04T10:00:00+01:00"
    (ec,) = rows_of(export_context(msvle), "EC")
    assert (ec["ECSTDTC"], ec["ECENDTC"]) == ("2026-03-04T10:00", "2026-03-04T10:45")


def test_api_user_of_another_site_learns_nothing(api, msvle, participant):
    created = api_enter(api, msvle, participant, "2026-11-20T01:50").json()
    api.force_login(msvle.other_coordinator)
    for response in (
        api.get(ae_url(participant)),
        api.get(ae_url(participant, f"{created['id']}/")),
        api.post(ae_url(participant), {"data": {**PNEUMONIA}}, format="json"),
    ):
        assert response.status_code == 404
        assert "X-Time-Zone" not in response
        assert "Pneumonia" not in response.content.decode()


# The pages ----------------------------------------------------------------------------------


def test_page_reads_and_shows_the_site_clock(client, msvle, participant):
    response = page_enter(client, msvle, participant, "2026-11-20T01:50")
    assert response.status_code == 302, response.content.decode()
    assert stored(participant) == datetime(2026, 11, 20, 0, 50, tzinfo=UTC)
    page = client.get(response["Location"]).content.decode()
    assert 'value="2026-11-20T01:50"' in page
    assert "Times are on the clock of the site (Europe/Madrid)." in page
    # The SAE clock starts when the site became aware: 01:50 CET, due 01:50 CET the next day.
    client.force_login(msvle.medical_monitor)
    clock = client.get("/safety/clock/").content.decode()
    assert "2026-11-20 01:50 CET" in clock
    assert "2026-11-21 01:50 CET" in clock


def test_page_infusion_at_ten_is_exported_at_ten(client, msvle, participant):
    not_of_childbearing_potential(msvle, participant)
    client.force_login(msvle.pharmacist)
    visit = participant.visits.get(code="D0")
    booleans = {"given": "true", "interrupted": "false", "release_checks_passed": "true"}
    form = {**ADMINISTRATION, **PRODUCT, **booleans}
    form.update(start_time="2026-03-04T10:00", stop_time="2026-03-04T10:45", visit=visit.pk)
    saved = client.post(f"/casebook/{participant.pk}/infusion/new/?visit={visit.pk}", form)
    assert saved.status_code == 302, saved.content.decode()
    assert 'value="2026-03-04T10:00"' in client.get(saved["Location"]).content.decode()
    (ec,) = rows_of(export_context(msvle), "EC")
    assert (ec["ECSTDTC"], ec["ECENDTC"]) == ("2026-03-04T10:00", "2026-03-04T10:45")


def test_page_at_the_clock_changes_of_madrid(client, msvle, participant):
    skipped = page_enter(client, msvle, participant, "2026-03-29T02:30")
    assert skipped.status_code == 400
    assert "02:30 on 2026-03-29 does not exist in Europe/Madrid" in skipped.content.decode()

    twice = page_enter(client, msvle, participant, "2026-10-25T02:30")
    assert twice.status_code == 400
    page = twice.content.decode()
    assert "02:30 on 2026-10-25 happens twice in Europe/Madrid" in page
    choice = re.search(r'<select name="site_awareness_at_offset".*?</select>', page, re.S)
    assert choice is not None
    assert 'value="+02:00"' in choice.group(0)
    assert 'value="+01:00"' in choice.group(0)
    assert not AdverseEvent.objects.filter(participant=participant).exists()

    chosen = page_enter(
        client, msvle, participant, "2026-10-25T02:30", site_awareness_at_offset="+01:00"
    )
    assert chosen.status_code == 302, chosen.content.decode()
    assert stored(participant) == datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
    # The stored occurrence is shown chosen, so saving again keeps it.
    again = client.get(chosen["Location"]).content.decode()
    assert 'value="2026-10-25T02:30"' in again
    assert '<option value="+01:00" selected>' in again


def test_page_at_the_clock_changes_of_santiago(client, mscrole, chilean):
    skipped = page_enter(client, mscrole, chilean, "2026-09-06T00:30")
    assert skipped.status_code == 400
    assert "00:30 on 2026-09-06 does not exist in America/Santiago" in skipped.content.decode()

    saved = page_enter(client, mscrole, chilean, "2026-09-06T01:30")
    assert saved.status_code == 302, saved.content.decode()
    assert stored(chilean) == datetime(2026, 9, 6, 4, 30, tzinfo=UTC)
    assert 'value="2026-09-06T01:30"' in client.get(saved["Location"]).content.decode()


def test_page_user_of_another_site_learns_nothing(client, msvle, participant):
    page_enter(client, msvle, participant, "2026-11-20T01:50")
    ae = AdverseEvent.objects.get(participant=participant)
    client.force_login(msvle.other_coordinator)
    assert client.get(page_url(participant, f"{ae.pk}/")).status_code == 404
    assert client.get(page_url(participant, "")).status_code == 404
    refused = client.post(page_url(participant), {**PNEUMONIA, "site_awareness_at": "x"})
    assert refused.status_code == 404


def test_review_page_shows_the_values_on_the_site_clock(client, msvle, participant):
    page_enter(client, msvle, participant, "2026-11-20T01:50")
    ae = AdverseEvent.objects.get(participant=participant)
    client.force_login(msvle.monitor)
    page = client.get(f"/review/participants/{participant.pk}/adverse_events/{ae.pk}/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Times are on the clock of the site (Europe/Madrid)." in text
    awareness = re.search(
        r'<tr id="field-site_awareness_at".*?<td class="value">(.*?)</td>', text, re.S
    )
    assert awareness is not None
    assert "2026, 1:50 a.m." in awareness.group(1), awareness.group(1)


def test_history_page_shows_changed_times_on_the_site_clock(client, msvle, participant):
    saved = page_enter(client, msvle, participant, "2026-11-20T01:50")
    page = client.get(saved["Location"] + "history/").content.decode()
    assert "Times are on the clock of the site (Europe/Madrid)." in page
    assert "2026, 1:50 a.m." in page
    # The change itself is dated on the same clock, with the zone's abbreviation.
    assert "When (site time)" in page
    assert "2026-11-20 01:55:00 CET" in page
    assert "00:55:00" not in page


# The service ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "wall", "problem"),
    [
        ("site_awareness_at", datetime(2026, 3, 29, 2, 30), "does not exist in Europe/Madrid"),
        ("site_awareness_at", datetime(2026, 10, 25, 2, 30), "(+02:00 or +01:00)"),
    ],
)
def test_service_refuses_a_naive_time_the_clocks_skipped_or_showed_twice(
    msvle, participant, name, wall, problem
):
    with pytest.raises(DomainError) as caught:
        form_save(
            actor=msvle.coordinator,
            ftype=form_type("adverse_events"),
            participant=participant,
            data={**PNEUMONIA, name: wall},
            now=LATE_2026,
        )
    assert problem in caught.value.fields[name][0]


def test_service_refuses_a_naive_infusion_time_the_clocks_skipped(msvle, participant):
    visit = participant.visits.get(code="D0")
    with pytest.raises(DomainError) as caught:
        form_save(
            actor=msvle.pharmacist,
            ftype=form_type("infusion"),
            participant=participant,
            visit=visit,
            data={**ADMINISTRATION, **PRODUCT, "start_time": datetime(2026, 3, 29, 2, 30)},
            now=LATE_2026,
        )
    assert (
        "02:30 on 2026-03-29 does not exist in Europe/Madrid"
        in caught.value.fields["start_time"][0]
    )


# Every route about one participant, lists across sites, the audit trail ---------------------
# After the 2026 clock changes: Madrid on UTC+01:00, Santiago on summer time, UTC-03:00.
MADRID = timedelta(hours=1)
SANTIAGO = timedelta(hours=-3)


@pytest.fixture
def madrid(msvle):
    """A consented participant of MSV_LE at its site in Valladolid."""
    return make_eligible(msvle)


@pytest.fixture
def santiago(msvle):
    """A consented participant of MSV_LE at the team's second site, in Santiago de Chile."""
    return make_eligible(msvle, register(msvle, site=msvle.other_site))


def offset(text: str) -> timedelta | None:
    return datetime.fromisoformat(text).utcoffset()


def pneumonia(team, participant, aware_at: datetime) -> AdverseEvent:
    """An SAE entered through the service, with a date of onset before the visit."""
    actor = team.coordinator if participant.site == team.site else team.other_coordinator
    saved: AdverseEvent = form_save(
        actor=actor,
        ftype=form_type("adverse_events"),
        participant=participant,
        data={**PNEUMONIA, "onset_date": "2026-11-18", "site_awareness_at": aware_at},
        now=LATE_2026,
    )
    return saved


def ask(monitor, ae: AdverseEvent) -> None:
    query_open(
        actor=monitor,
        ftype=form_type("adverse_events"),
        record=ae,
        field_name="verbatim_term",
        text="Which organism?",
        now=LATE_2026,
    )


def test_participant_api_answers_on_the_site_clock(api, msvle, madrid, santiago):
    for participant, coordinator, zone, shift in (
        (madrid, msvle.coordinator, "Europe/Madrid", MADRID),
        (santiago, msvle.other_coordinator, "America/Santiago", SANTIAGO),
    ):
        api.force_login(coordinator)
        response = api.get(f"/api/v1/participants/{participant.pk}/")
        assert response.status_code == 200
        assert response["X-Time-Zone"] == zone
        registered = response.json()["registered_at"]
        assert offset(registered) == shift
        assert datetime.fromisoformat(registered) == participant.registered_at


def test_another_site_learns_nothing_not_even_the_zone(api, msvle, santiago):
    api.force_login(msvle.coordinator)
    response = api.get(f"/api/v1/participants/{santiago.pk}/")
    assert response.status_code == 404
    assert "X-Time-Zone" not in response
    page = api.get(f"/trials/participants/{santiago.pk}/")
    assert page.status_code == 404
    assert "X-Time-Zone" not in page


def test_participant_page_names_the_zone(client, msvle, santiago):
    client.force_login(msvle.other_coordinator)
    response = client.get(f"/trials/participants/{santiago.pk}/")
    assert response.status_code == 200
    assert response["X-Time-Zone"] == "America/Santiago"


def test_query_list_shows_each_row_on_its_own_site_clock(api, msvle, madrid, santiago):
    for participant in (madrid, santiago):
        ask(msvle.medical_monitor, pneumonia(msvle, participant, LATE_2026 - timedelta(hours=2)))
    api.force_login(msvle.medical_monitor)
    response = api.get("/api/v1/queries/", {"trial": msvle.trial.code})
    assert response.status_code == 200
    rows = {row["site"]: row for row in response.json()["results"]}
    assert rows[msvle.site.code]["time_zone"] == "Europe/Madrid"
    assert offset(rows[msvle.site.code]["opened_at"]) == MADRID
    assert rows[msvle.other_site.code]["time_zone"] == "America/Santiago"
    assert offset(rows[msvle.other_site.code]["opened_at"]) == SANTIAGO
    for row in rows.values():
        assert datetime.fromisoformat(row["opened_at"]) == LATE_2026
    # The site's coordinator sees their own site's query only.
    api.force_login(msvle.other_coordinator)
    mine = api.get("/api/v1/queries/", {"trial": msvle.trial.code}).json()["results"]
    assert [row["site"] for row in mine] == [msvle.other_site.code]


def test_audit_trail_dates_changes_and_changed_times_on_the_site_clock(api, msvle, santiago):
    ae = pneumonia(msvle, santiago, datetime(2026, 11, 19, 12, 0, tzinfo=UTC))
    form_save(
        actor=msvle.other_coordinator,
        ftype=form_type("adverse_events"),
        participant=santiago,
        record_id=ae.pk,
        expected_version=ae.row_version,
        data={"site_awareness_at": datetime(2026, 11, 19, 13, 0, tzinfo=UTC)},
        reason="Time corrected from the source notes",
        now=LATE_2026,
    )
    api.force_login(msvle.monitor)
    # The monitor of the first site does not see the second site's trail.
    assert api.get(f"/api/v1/participants/{santiago.pk}/audit-trail/").status_code == 404
    api.force_login(msvle.medical_monitor)
    response = api.get(f"/api/v1/participants/{santiago.pk}/audit-trail/")
    assert response.status_code == 200
    assert response["X-Time-Zone"] == "America/Santiago"
    change = next(
        row
        for row in response.json()["results"]
        if row["field"] == "site_awareness_at" and row["kind"] == "changed"
    )
    assert (change["old"], change["new"]) == (
        "2026-11-19T09:00:00-03:00",
        "2026-11-19T10:00:00-03:00",
    )
    assert offset(change["when"]) == SANTIAGO
    table = list(
        csv.DictReader(
            io.StringIO(
                api.get(f"/api/v1/participants/{santiago.pk}/audit-trail.csv").getvalue().decode()
            )
        )
    )
    row = next(r for r in table if r["field"] == "site_awareness_at" and r["kind"] == "changed")
    assert (row["old"], row["new"]) == ("2026-11-19T09:00:00-03:00", "2026-11-19T10:00:00-03:00")
    assert row["when"] == "2026-11-19T21:55:00-03:00"


def test_review_pages_date_marks_on_the_site_clock(client, msvle, madrid):
    ae = pneumonia(msvle, madrid, LATE_2026 - timedelta(hours=2))
    ask(msvle.monitor, ae)
    client.force_login(msvle.monitor)
    page = client.get(f"/review/participants/{madrid.pk}/adverse_events/{ae.pk}/")
    assert page.status_code == 200
    text = page.content.decode()
    # Opened at 00:55 UTC, which is 01:55 in Valladolid.
    assert "2026-11-20 01:55 CET" in text
    # As a word: the page's random CSRF token may hold the three letters.
    assert re.search(r"\bUTC\b", text) is None
    trail = client.get(f"/review/participants/{madrid.pk}/audit-trail/").content.decode()
    assert "When (site time)" in trail
    assert "2026-11-20 01:55:00 CET" in trail
    assert "UTC" not in trail
