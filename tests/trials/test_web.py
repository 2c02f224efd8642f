"""The participant pages: the journey to Day 0, inline errors, site scoping and refused roles."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from rest_framework.test import APIClient

from tests.personas import NOW
from tests.world import make_eligible, register, with_allocation
from trials.models import AllocationRead, Participant, ParticipantStatus
from trials.services import consent_record, eligibility_answer, participant_randomize
from trials.services.participants import eligibility_outcome

TODAY = NOW.date()
CONFIRM_RANDOMIZE = {"randomize-confirm": "on"}


@pytest.fixture(autouse=True)
def frozen(time_machine):
    time_machine.move_to(NOW + timedelta(hours=1), tick=False)


def page_of(participant: Participant) -> str:
    return f"/trials/participants/{participant.pk}/"


def text(response) -> str:
    return response.content.decode()


def test_journey_register_consent_checklist_confirm_randomize_day0(client, msvle) -> None:
    with_allocation(msvle)
    client.force_login(msvle.coordinator)
    listing = client.get("/trials/participants/")
    assert listing.status_code == 200
    assert "Register participant" in text(listing)

    registered = client.post(
        "/trials/participants/register/", {"sex": "F", "date_of_birth": "1990-05-17"}
    )
    assert registered.status_code == 302
    participant = Participant.objects.get(trial=msvle.trial)
    assert registered["Location"] == page_of(participant)
    page = text(client.get(page_of(participant)))
    assert "VA01-S001" in page
    assert "Informed consent has not been recorded" in page
    assert 'name="IN01-answer"' not in page  # nothing can be answered before consent

    consent = client.post(
        page_of(participant) + "consent/",
        {"form_version": "2.1", "consent_date": str(TODAY)},
    )
    assert consent.status_code == 302
    page = text(client.get(page_of(participant)))
    assert "Form version 2.1, signed on 2026-03-02" in page
    assert page.count("Criterion met?") == 7
    assert page.count("Criterion applies?") == 25
    assert "SLEDAI-2K ≥ 10 during the selection period." in page
    assert "Confirm eligibility" not in page  # coordinators do not confirm

    for code in eligibility_outcome(participant)["unanswered"]:
        answer = "yes" if code.startswith("IN") else "no"
        response = client.post(
            page_of(participant) + f"eligibility/{code}/", {f"{code}-answer": answer}
        )
        assert response.status_code == 302, code
    page = text(client.get(page_of(participant)))
    assert "Every criterion is answered and the person is eligible." in page

    client.force_login(msvle.investigator)
    page = text(client.get(page_of(participant)))
    assert "Confirm eligibility" in page
    assert client.post(page_of(participant) + "confirm/").status_code == 302
    participant.refresh_from_db()
    assert participant.status == ParticipantStatus.ELIGIBLE

    client.force_login(msvle.coordinator)
    page = text(client.get(page_of(participant)))
    assert "Randomize" in page
    assert "Does exclusion 10 apply today?" in page
    assert "Randomization gives this participant the next randomization number" in page
    unconfirmed = client.post(page_of(participant) + "randomize/")
    assert unconfirmed.status_code == 400
    assert "Tick the box to confirm the randomization; the participant was not randomized." in (
        text(unconfirmed)
    )
    refused = client.post(page_of(participant) + "randomize/", CONFIRM_RANDOMIZE)
    assert refused.status_code == 400
    assert "Exclusion 10 must hold on the day of randomization" in text(refused)
    reconfirmed = client.post(
        page_of(participant) + "reconfirm/", {"criterion_code": "EX10", "answer": "no"}
    )
    assert reconfirmed.status_code == 302
    assert client.post(page_of(participant) + "randomize/", CONFIRM_RANDOMIZE).status_code == 302
    page = text(client.get(page_of(participant)))
    assert "Randomization number <strong>R0001</strong>" in page
    assert "Set Day 0" in page

    assert client.post(page_of(participant) + "day0/", {"day0": str(TODAY)}).status_code == 302
    page = text(client.get(page_of(participant)))
    participant.refresh_from_db()
    assert participant.status == ParticipantStatus.ON_STUDY
    assert "Dates are local dates at the site (Europe/Madrid)." in page
    # Week 4: day 28 +/- 3 from Day 0 on 2 March 2026 (the window spans the DST change).
    week4 = re.search(r'<tr id="visit-W4">(.*?)</tr>', page, re.S).group(1)
    assert "2026-03-30" in week4
    assert "2026-03-27 \N{EN DASH} 2026-04-02" in week4
    assert "Scheduled" in week4
    day0 = re.search(r'<tr id="visit-D0">(.*?)</tr>', page, re.S).group(1)
    assert "2026-03-02 \N{EN DASH} 2026-03-02" in day0
    assert "Record" in day0
    rand = re.search(r'<tr id="visit-RAND">(.*?)</tr>', page, re.S).group(1)
    assert "Completed" in rand


def test_domain_errors_are_shown_inline_and_keep_the_input(client, msvle) -> None:
    client.force_login(msvle.coordinator)
    young = client.post(
        "/trials/participants/register/", {"sex": "M", "date_of_birth": "2010-04-01"}
    )
    assert young.status_code == 400
    assert "Age 15 is below the protocol minimum of 18." in text(young)
    assert 'value="2010-04-01"' in text(young)
    assert not Participant.objects.exists()

    participant = register(msvle)
    future = client.post(
        page_of(participant) + "consent/",
        {"form_version": "3.0-es", "consent_date": str(TODAY + timedelta(days=1))},
    )
    assert future.status_code == 400
    page = text(future)
    assert "Consent date is in the future." in page
    assert "In the future." in page
    assert 'value="3.0-es"' in page
    assert not participant.consents.exists()

    blank = client.post(page_of(participant) + "withdraw/", {"withdraw-reason": ""})
    assert blank.status_code == 400
    assert "This field is required." in text(blank)


def test_refused_transitions_and_too_early_day0_are_inline(client, msvle) -> None:
    with_allocation(msvle)
    participant = participant_randomize(
        actor=msvle.coordinator, participant=make_eligible(msvle), now=NOW
    )
    client.force_login(msvle.coordinator)
    early = client.post(page_of(participant) + "day0/", {"day0": str(TODAY - timedelta(days=3))})
    assert early.status_code == 400
    assert "Day 0 cannot be before randomization or enrolment." in text(early)
    assert "Too early." in text(early)
    assert 'value="2026-02-27"' in text(early)
    again = client.post(page_of(participant) + "randomize/", CONFIRM_RANDOMIZE)
    assert again.status_code == 400
    assert "cannot become randomized" in text(again)


def test_incomplete_checklist_cannot_be_confirmed(client, msvle) -> None:
    participant = register(msvle)
    client.force_login(msvle.coordinator)
    client.post(
        page_of(participant) + "consent/", {"form_version": "1", "consent_date": str(TODAY)}
    )
    client.force_login(msvle.investigator)
    response = client.post(page_of(participant) + "confirm/")
    assert response.status_code == 400
    assert "The checklist is incomplete: IN01, IN02" in text(response)


def test_htmx_answer_returns_the_criterion_and_the_outcome(client, msvle) -> None:
    participant = register(msvle)
    client.force_login(msvle.coordinator)
    client.post(
        page_of(participant) + "consent/", {"form_version": "1", "consent_date": str(TODAY)}
    )
    url = page_of(participant) + "eligibility/EX01/"
    saved = client.post(
        url, {"EX01-answer": "no", "EX01-comment": "eGFR 92"}, HTTP_HX_REQUEST="true"
    )
    assert saved.status_code == 200
    fragment = text(saved)
    assert fragment.startswith('<div class="criterion" id="criterion-EX01">')
    assert "Criterion applies?" in fragment
    assert 'value="eGFR 92"' in fragment
    assert 'id="eligibility-outcome" class="card" hx-swap-oob="true"' in fragment
    assert "<html" not in fragment

    changed = client.post(url, {"EX01-answer": "yes"}, HTTP_HX_REQUEST="true")
    assert changed.status_code == 400
    assert "A reason for the change is required." in text(changed)
    assert participant.eligibility_answers.get().answer is False
    with_reason = client.post(
        url, {"EX01-answer": "yes", "EX01-reason": "Creatinine rechecked"}, HTTP_HX_REQUEST="true"
    )
    assert with_reason.status_code == 200
    assert "Exclusion criteria that apply: EX01" in text(with_reason)


def test_another_sites_participant_is_not_found(client, msvle) -> None:
    with_allocation(msvle)
    participant = participant_randomize(
        actor=msvle.coordinator, participant=make_eligible(msvle), now=NOW
    )
    visit = participant.visits.first()
    client.force_login(msvle.other_coordinator)
    assert client.get(page_of(participant)).status_code == 404
    for action, data in {
        "consent/": {"form_version": "1", "consent_date": str(TODAY)},
        "eligibility/IN01/": {"IN01-answer": "yes"},
        "confirm/": {},
        "randomize/": {},
        "day0/": {"day0": str(TODAY)},
        "withdraw/": {"withdraw-reason": "x"},
        "unblind/": {"reason": "x", "password": msvle.password},
        "allocation/": None,
    }.items():
        if data is None:
            assert client.get(page_of(participant) + action).status_code == 404, action
            continue
        assert client.post(page_of(participant) + action, data).status_code == 404, action
    record = client.post(
        f"/trials/visits/{visit.pk}/record/", {f"visit-{visit.pk}-actual_date": str(TODAY)}
    )
    assert record.status_code == 404
    listing = text(client.get("/trials/participants/"))
    assert participant.identifier not in listing
    participant.refresh_from_db()
    assert participant.status == ParticipantStatus.RANDOMIZED


def test_wrong_role_sees_no_button_and_is_refused(client, msvle) -> None:
    participant = register(msvle)
    client.force_login(msvle.monitor)
    page = text(client.get(page_of(participant)))
    assert "VA01-S001" in page
    assert "Record consent" not in page
    assert "Withdraw participant" not in page
    assert "Register participant" not in text(client.get("/trials/participants/"))
    refused = client.post(
        page_of(participant) + "consent/", {"form_version": "1", "consent_date": str(TODAY)}
    )
    assert refused.status_code == 403
    assert "Your role does not allow you to record consent." in text(refused)
    assert (
        client.post(
            "/trials/participants/register/", {"sex": "F", "date_of_birth": "1990-01-01"}
        ).status_code
        == 403
    )

    consent_record(
        actor=msvle.coordinator,
        participant=participant,
        form_version="1",
        consent_date=TODAY,
        now=NOW,
    )
    for code in eligibility_outcome(participant)["unanswered"]:
        eligibility_answer(
            actor=msvle.coordinator,
            participant=participant,
            criterion_code=code,
            answer=code.startswith("IN"),
            now=NOW,
        )
    client.force_login(msvle.coordinator)
    page = text(client.get(page_of(participant)))
    assert "Every criterion is answered and the person is eligible." in page
    assert "Confirm eligibility" not in page
    refused = client.post(page_of(participant) + "confirm/")
    assert refused.status_code == 403
    assert "Your role does not allow you to confirm eligibility." in text(refused)
    participant.refresh_from_db()
    assert participant.status == ParticipantStatus.SCREENING


def test_list_filters_by_status(client, msvle) -> None:
    first, second = register(msvle), register(msvle)
    make_eligible(msvle, second)
    client.force_login(msvle.coordinator)
    everyone = text(client.get("/trials/participants/"))
    assert first.screening_number in everyone and second.screening_number in everyone
    eligible = text(client.get("/trials/participants/?status=eligible"))
    assert second.screening_number in eligible
    assert first.screening_number not in eligible


def test_dose_escalation_offers_the_open_cohort(client, mscrole) -> None:
    participant = make_eligible(mscrole)
    client.force_login(mscrole.coordinator)
    page = text(client.get(page_of(participant)))
    assert "Enrol in cohort C1 at 1\N{MULTIPLICATION SIGN}10\N{SUPERSCRIPT SIX} cells/kg" in page
    assert ">Randomize<" not in page
    assert client.post(page_of(participant) + "enrol/").status_code == 302
    page = text(client.get(page_of(participant)))
    assert "Enrolled in cohort C1 (Cohort 1 (1 x 10^6 cells/kg))" in page
    assert "Set Day 0" in page


def test_emergency_unblinding_page_asks_the_password_and_shows_the_arm(client, msvle) -> None:
    with_allocation(msvle)
    participant = participant_randomize(
        actor=msvle.coordinator, participant=make_eligible(msvle), now=NOW
    )
    arm_name = {"MSC": "Mesenchymal stem cells (MSC)", "PLACEBO": "Placebo"}[
        participant.allocation.arm_code
    ]
    unblind = page_of(participant) + "unblind/"
    client.force_login(msvle.coordinator)
    assert "Emergency unblinding" not in text(client.get(page_of(participant)))
    assert client.post(unblind, {"reason": "x", "password": msvle.password}).status_code == 403

    client.force_login(msvle.investigator)
    form = text(client.get(page_of(participant)))
    assert "Unblind this participant" in form
    assert 'type="password" name="password"' in form
    assert "Show the treatment allocation" not in form
    assert client.get(page_of(participant) + "allocation/").status_code == 403
    missing = client.post(unblind, {"reason": "", "password": msvle.password})
    assert missing.status_code == 400
    assert arm_name not in text(missing)
    for password in ("", "wrong"):
        wrong = client.post(unblind, {"reason": "Severe reaction", "password": password})
        assert wrong.status_code == 400
        assert arm_name not in text(wrong)
    assert "The password is not correct; nothing was unblinded." in text(wrong)
    participant.refresh_from_db()
    assert participant.unblinded_at is None
    assert not AllocationRead.objects.exists()

    shown = client.post(unblind, {"reason": "Severe reaction", "password": msvle.password})
    assert shown.status_code == 200
    assert f"<strong>{arm_name}</strong>" in text(shown)
    assert "no-store" in shown["Cache-Control"]
    read = AllocationRead.objects.get()
    assert (read.user, read.ground, read.channel, read.path) == (
        msvle.investigator,
        "emergency",
        "page",
        unblind,
    )
    after = text(client.get(page_of(participant)))
    assert arm_name not in after
    assert "Unblinded on 2026-03-02" in after
    # Shown again only when asked for, and recorded each time.
    assert "Show the treatment allocation" in after
    again = client.get(page_of(participant) + "allocation/")
    assert f"<strong>{arm_name}</strong>" in text(again)
    assert "no-store" in again["Cache-Control"]
    assert AllocationRead.objects.count() == 2
    # The coordinator of the same site stays blind.
    client.force_login(msvle.coordinator)
    assert arm_name not in text(client.get(page_of(participant)))
    assert client.get(page_of(participant) + "allocation/").status_code == 403
    assert AllocationRead.objects.count() == 2


def test_pharmacist_sees_the_treatment_to_prepare(client, msvle) -> None:
    with_allocation(msvle)
    participant = participant_randomize(
        actor=msvle.coordinator, participant=make_eligible(msvle), now=NOW
    )
    arm = participant.allocation.arm_code
    client.force_login(msvle.pharmacist)
    page = text(client.get(page_of(participant)))
    assert f"({arm})." in page
    assert "Treatment to prepare" in page
    assert "Record consent" not in page
    read = AllocationRead.objects.get()
    assert (read.user, read.ground, read.channel, read.path) == (
        msvle.pharmacist,
        "pharmacy",
        "page",
        page_of(participant),
    )


def test_a_day0_at_the_end_of_the_calendar_is_refused_inline(client, msvle) -> None:
    """The visit schedule after it would run past 9999-12-31: a message, not an overflow."""
    with_allocation(msvle)
    participant = participant_randomize(
        actor=msvle.coordinator, participant=make_eligible(msvle), now=NOW
    )
    client.force_login(msvle.coordinator)
    for day in ("9999-12-31", "9999-10-01"):
        late = client.post(page_of(participant) + "day0/", {"day0": day})
        assert late.status_code == 400
        assert "Day 0 is too late: its visit schedule would run past the calendar." in text(late)
    participant.refresh_from_db()
    assert participant.day0 is None
    assert not participant.visits.exclude(code__in=("SEL", "RAND")).exists()
    api = APIClient()
    api.force_login(msvle.coordinator)
    refused = api.post(
        f"/api/v1/participants/{participant.pk}/day0/", {"day0": "9999-12-31"}, format="json"
    )
    assert refused.status_code == 400
    assert refused.json()["error"]["fields"] == {"day0": ["Too late."]}
    # Moving a Day 0 already set there is refused the same way, and the schedule stays.
    assert (
        api.post(
            f"/api/v1/participants/{participant.pk}/day0/", {"day0": str(TODAY)}, format="json"
        ).status_code
        == 200
    )
    moved = api.post(
        f"/api/v1/participants/{participant.pk}/day0/",
        {"day0": "9999-12-31", "reason": "Infusion postponed"},
        format="json",
    )
    assert moved.status_code == 400
    assert moved.json()["error"]["fields"] == {"day0": ["Too late."]}
    participant.refresh_from_db()
    assert participant.day0 == TODAY
