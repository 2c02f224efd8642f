"""The participant page's summary (identifiers, next visit, links, arm only through the gate)
and the actions that end participation only once their consequence is confirmed."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from tests.personas import NOW
from tests.world import make_eligible, on_study
from trials.models import ParticipantStatus
from trials.services import participant_enrol
from visits.services import participant_set_day0

ARM_NAMES = ("Mesenchymal stem cells (MSC)", "MSC treatment", "Placebo")


@pytest.fixture(autouse=True)
def frozen(time_machine):
    time_machine.move_to(NOW + timedelta(hours=1), tick=False)


def summary(client, participant) -> str:
    page = client.get(f"/trials/participants/{participant.pk}/").content.decode()
    # The heading with the status, then the summary.
    found = re.search(
        r'<h1>.*?</h1>\s*<section class="card summary" id="status".*?</section>', page, re.S
    )
    assert found is not None
    return found.group(0)


def assert_links(html: str, participant) -> None:
    pk = participant.pk
    for href in (
        f"/casebook/{pk}/",
        "#schedule",
        f"/casebook/{pk}/adverse_events/",
        f"/casebook/{pk}/charts/",
        f"/review/participants/{pk}/audit-trail/",
    ):
        assert f'href="{href}"' in html, href


def test_msvle_summary_has_the_next_visit_links_and_the_arm_only_for_the_pharmacist(
    client, msvle
) -> None:
    participant = on_study(msvle, day0=date(2026, 3, 4))
    participant.visits.filter(code="SEL").update(status="completed")
    arm = {"MSC": "Mesenchymal stem cells (MSC)", "PLACEBO": "Placebo"}[
        participant.allocation.arm_code
    ]
    client.force_login(msvle.coordinator)
    html = summary(client, participant)
    assert participant.screening_number in html and participant.subject_id in html
    assert re.search(r'<h1>[^<]*<span class="status status-on_study">On study</span></h1>', html)
    assert "<dd>2026-03-04</dd>" in html  # Day 0
    # Selection and randomization are done: next is the Day 0 visit, on the site's calendar.
    assert re.search(
        r"Next visit: <strong>[^<]+</strong>, target 2026-03-04, window 2026-03-04 \N{EN DASH} "
        r"2026-03-04",
        html,
    )
    assert_links(html, participant)
    for blinded in (msvle.coordinator, msvle.investigator, msvle.monitor):
        client.force_login(blinded)
        page = client.get(f"/trials/participants/{participant.pk}/").content.decode()
        assert 'id="arm"' not in page
        assert arm not in page

    client.force_login(msvle.pharmacist)
    html = summary(client, participant)
    assert re.search(rf'<div id="arm"><dt>Treatment arm</dt><dd><strong>{re.escape(arm)}', html)


def test_mscrole_summary_has_the_links_and_no_arm(client, mscrole) -> None:
    participant = participant_enrol(
        actor=mscrole.coordinator, participant=make_eligible(mscrole), now=NOW
    )
    participant_set_day0(
        actor=mscrole.coordinator, participant=participant, day0=date(2026, 3, 4), now=NOW
    )
    client.force_login(mscrole.coordinator)
    html = summary(client, participant)
    assert "Next visit:" in html
    assert_links(html, participant)
    assert 'id="arm"' not in html
    assert not any(name in html for name in ARM_NAMES)


def test_withdrawal_and_loss_to_follow_up_need_their_confirmation(client, msvle) -> None:
    participant = on_study(msvle)
    url = f"/trials/participants/{participant.pk}/"
    client.force_login(msvle.coordinator)
    page = client.get(url).content.decode()
    assert '<details id="withdraw">' in page  # folded away until asked for
    assert "Withdrawal stops all further visits" in page and "cannot be undone" in page

    refused = client.post(url + "withdraw/", {"withdraw-reason": "Moved abroad"})
    assert refused.status_code == 400
    text = refused.content.decode()
    assert "Tick the box to confirm the withdrawal; the participant was not withdrawn." in text
    assert '<details id="withdraw" open>' in text
    refused = client.post(url + "lost/", {"lost-reason": "No answer"})
    assert refused.status_code == 400
    assert "Tick the box to confirm the loss to follow-up" in refused.content.decode()
    participant.refresh_from_db()
    assert participant.status == ParticipantStatus.ON_STUDY

    done = client.post(
        url + "withdraw/", {"withdraw-reason": "Moved abroad", "withdraw-confirm": "on"}
    )
    assert done.status_code == 302
    participant.refresh_from_db()
    assert participant.status == ParticipantStatus.WITHDRAWN
    assert participant.end_reason == "Moved abroad"
