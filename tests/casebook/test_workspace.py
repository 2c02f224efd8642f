"""The clinician's workspace pages: the home to-do list, the participant search, the trial's
grid and a participant's casebook, for the right user and the wrong one, in both trials."""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import CommandError, call_command

from assessments.services.visits import KEPT_AT_VISITS, visit_record
from casebook.catalogue import form_type, form_types
from casebook.forms_pending import collected, forms_pending_recount
from flagging.visits import visits_flag_all
from review.services import query_open
from tests.assessments.test_renal_form import enrolled_in_cohort
from tests.assessments.test_sledai_form import EXAMPLE_1
from tests.personas import Team
from tests.safety.test_sae_clock import AWARE, DUE, sae
from tests.world import enter_sledai, on_study, register
from trials.definitions import definition_of
from trials.models import Participant
from visits.models import Visit

# Four weeks after Day 0 (2026-03-04): week 4's window (days 25 to 31) is open, Day 0 is past
# and every later visit is still to come.
WEEK4 = datetime(2026, 3, 30, 9, 0, tzinfo=UTC)


@pytest.fixture
def week4():
    with time_machine.travel(WEEK4, tick=False):
        yield


def _page(client, user, url: str) -> str:
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def test_home_lists_the_coordinators_work_and_nothing_of_another_site(
    client, msvle: Team, participant: Participant, week4
) -> None:
    visits = {visit.code: visit for visit in participant.visits.all()}
    visit_record(
        actor=msvle.coordinator, visit=visits["D0"], actual_date=date(2026, 3, 4), now=WEEK4
    )
    sledai = enter_sledai(
        msvle, participant, "W4", {"assessment_date": date(2026, 3, 30), **EXAMPLE_1}, now=WEEK4
    )
    query_open(
        actor=msvle.monitor,
        ftype=form_type("sledai2k"),
        record=sledai,
        text="Please check the proteinuria.",
        now=WEEK4,
    )
    # The jobs open week 4's window and flag the visits whose window closed unrecorded.
    visits_flag_all(now=WEEK4)
    # Day 0's forms that may lack a record are kept on the visit for the home page to read:
    # the logs never can; week 4's SLEDAI-2K, entered, is struck off. A recount changes every
    # visit but Day 0 (struck when recorded), dropping their logs and screening forms.
    visits["D0"].refresh_from_db()
    assert visits["D0"].forms_pending == [c for c in visits["D0"].forms if c in KEPT_AT_VISITS]
    assert "adverse_events" not in visits["D0"].forms_pending
    assert "sledai2k" not in Visit.objects.get(pk=visits["W4"].pk).forms_pending
    with pytest.raises(CommandError, match="No visits of a trial with code 'NOPE'"):
        call_command("forms_pending_recount", "--trial", "NOPE")
    out = io.StringIO()
    call_command("forms_pending_recount", "--trial", msvle.trial.code, stdout=out)
    assert out.getvalue() == f"{len(visits) - 1} visits had forms struck off their pending list.\n"
    assert forms_pending_recount(participant.visits.all()) == 0
    visits["D0"].refresh_from_db()
    assert "labs" in visits["D0"].forms_pending

    home = _page(client, msvle.coordinator, "/")
    # Week 4 is due this week, with its window in the site's zone, one click from recording it.
    assert f'href="/trials/visits/{visits["W4"].pk}/record/"' in home
    zone = participant.site.time_zone
    assert f"window 2026-03-29 to 2026-04-04 ({zone})" in home
    # Day 0 was done without its laboratory tests: each missing form links to its entry.
    assert f'/casebook/{participant.pk}/labs/new/?visit={visits["D0"].pk}">Laboratory tests' in home
    # Logs are running lists, never missing at a visit.
    assert f"/casebook/{participant.pk}/adverse_events/new/" not in home
    # The query waits for the site's answer on the record's review page.
    assert f'href="/review/participants/{participant.pk}/sledai2k/{sledai.pk}/"' in home
    assert "to answer" in home
    assert 'id="todo-alerts"' in home
    # The grid's "needs my action" lists the participant for the site, not for the monitor,
    # whose query waits for its answer.
    assert f"/casebook/{participant.pk}/" in _page(client, msvle.coordinator, "/casebook/?mine=1")
    assert f"/casebook/{participant.pk}/" not in _page(client, msvle.monitor, "/casebook/?mine=1")

    # The monitor has no query to close yet, and no visits of the site to record.
    monitor_home = _page(client, msvle.monitor, "/")
    assert "to answer" not in monitor_home
    assert "todo-visits" not in monitor_home

    # The other site's coordinator sees none of it.
    other = _page(client, msvle.other_coordinator, "/")
    assert participant.identifier not in other
    assert "Nothing is waiting for you at your sites." in other
    assert 'id="todo-alerts"' not in other


def test_the_forms_that_can_be_missing_at_a_visit_are_those_of_the_catalogue() -> None:
    assert set(collected(form_types())) == KEPT_AT_VISITS


def test_search_goes_to_the_one_participant_found_within_the_users_sites(
    client, msvle: Team, participant: Participant
) -> None:
    elsewhere = register(msvle, site=msvle.other_site)
    client.force_login(msvle.coordinator)
    found = client.get("/search/", {"q": participant.screening_number.lower()})
    assert (found.status_code, found.url) == (302, f"/trials/participants/{participant.pk}/")
    assert participant.subject_id
    by_number = client.get("/search/", {"q": participant.subject_id})
    assert by_number.url == f"/trials/participants/{participant.pk}/"
    hidden = client.get("/search/", {"q": elsewhere.screening_number})
    assert hidden.status_code == 200
    assert elsewhere.screening_number in hidden.content.decode()  # the words typed, only
    assert f"/trials/participants/{elsewhere.pk}/" not in hidden.content.decode()

    client.force_login(msvle.other_coordinator)
    assert client.get("/search/", {"q": elsewhere.screening_number}).url == (
        f"/trials/participants/{elsewhere.pk}/"
    )
    for text in (participant.screening_number, participant.subject_id):
        body = client.get("/search/", {"q": text}).content.decode()
        assert f"/trials/participants/{participant.pk}/" not in body


@pytest.mark.parametrize("trial", ["msvle", "mscrole"])
def test_grid_and_casebook_show_each_forms_state_without_arm_or_another_site(
    client, request, trial: str, week4
) -> None:
    team: Team = request.getfixturevalue(trial)
    participant = on_study(team) if trial == "msvle" else enrolled_in_cohort(team)
    elsewhere = register(team, site=team.other_site)
    visits = list(participant.visits.order_by("visit_number"))
    past = next(v for v in visits if v.window_closes_at and v.window_closes_at < WEEK4)
    visit_record(actor=team.coordinator, visit=past, actual_date=past.target_date, now=WEEK4)
    future = [v for v in visits if v.window_opens_at and v.window_opens_at > WEEK4]
    assert future

    grid = _page(client, team.coordinator, "/casebook/")
    assert f'href="/casebook/{participant.pk}/"' in grid
    assert elsewhere.screening_number not in grid
    assert "Legend" in grid and "Not yet due" in grid and "Query open" in grid
    # A form of a visit done and not entered is not started, linked to its entry; the visit's
    # labels come from the catalogue, with the state as text beside the icon.
    assert "Laboratory tests: Not started" in grid
    assert f'/casebook/{participant.pk}/labs/new/?visit={past.pk}"' in grid
    # Forms of a visit still to come are not due, never missing; logs stay out of the grid.
    for visit in future:
        assert f"/casebook/{participant.pk}/labs/new/?visit={visit.pk}" not in grid
    assert "Laboratory tests: Not yet due" in grid
    assert "adverse_events" not in grid

    other = _page(client, team.other_coordinator, "/casebook/")
    assert f"/casebook/{participant.pk}/" not in other
    assert f"/casebook/{elsewhere.pk}/" in other

    casebook = _page(client, team.coordinator, f"/casebook/{participant.pk}/")
    assert casebook.count('<tr data-form="labs"') == 1
    assert '<tr data-form="adverse_events"' not in casebook
    assert casebook.count('data-log="adverse_events"') == 1
    for visit in future:
        assert f"?visit={visit.pk}" not in casebook

    arms = {arm.name for arm in definition_of(participant.protocol_version).arms}
    for page in (
        _page(client, team.monitor, "/casebook/"),
        _page(client, team.monitor, f"/casebook/{participant.pk}/"),
        _page(client, team.monitor, "/"),
    ):
        assert not {name for name in arms if name in page}


def test_grid_queries_do_not_grow_with_participants(
    client, msvle: Team, participant: Participant, week4, django_assert_max_num_queries
) -> None:
    client.force_login(msvle.coordinator)
    client.get("/casebook/")  # content types cached, as in a running server
    # Session and user (2); the workspace, the sites in scope and the participants' scope (4);
    # the count and the page of participants (2); the user's roles (1); visits (1); one per
    # form model that is not a log (8); review marks (4: queries, SDV, signatures, locks); the
    # top bar's workspaces (2); the session saved in a savepoint (3). None of them grows with
    # participants or visits.
    with django_assert_max_num_queries(27):
        one = client.get("/casebook/")
    assert one.content.decode().count("<tr data-participant=") == 1
    for _ in range(2):
        on_study(msvle)
    with django_assert_max_num_queries(27):
        three = client.get("/casebook/", {"sort": "-identifier"})
    shown = re.findall(r'<tr data-participant="([^"]+)"', three.content.decode())
    assert len(shown) == 3
    assert shown == sorted(shown, reverse=True)


def test_home_shows_a_running_sae_clock_at_its_site_only(
    client, msvle: Team, participant: Participant
) -> None:
    with time_machine.travel(AWARE + timedelta(hours=2), tick=False):
        ae = sae(msvle, participant)
        home = _page(client, msvle.coordinator, "/")
        other = _page(client, msvle.other_coordinator, "/")
    assert f'href="/casebook/{participant.pk}/adverse_events/{ae.pk}/"' in home
    # The deadline as read on the site's clock.
    due = DUE.astimezone(ZoneInfo(participant.site.time_zone))
    assert f"SAE report due {due:%Y-%m-%d %H:%M}" in home
    assert "todo-clocks" not in other and "Pneumonia" not in other
