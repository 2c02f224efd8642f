"""The participant lifecycle through the API: each endpoint for its role, scoping and refusals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from accounts.models import User
from tests.factories import DEFAULT_PASSWORD, UserFactory
from tests.personas import NOW
from tests.world import make_eligible, register, with_allocation
from trials.models import AllocationSlot, Cohort, CohortStatus, ParticipantStatus, Trial
from trials.services import consent_record, eligibility_answer, participant_randomize
from visits.models import Visit, VisitStatus

TODAY = NOW.date()


@pytest.fixture
def api() -> APIClient:
    return APIClient()


def as_user(api: APIClient, user: User) -> APIClient:
    api.force_login(user)
    return api


def randomized(team):
    with_allocation(team)
    return participant_randomize(actor=team.coordinator, participant=make_eligible(team), now=NOW)


@pytest.fixture(autouse=True)
def frozen(time_machine):
    # Services compare dates with "now"; the fixtures' data are dated NOW.
    time_machine.move_to(NOW + timedelta(hours=1), tick=False)


# Trials -------------------------------------------------------------------------------------


def test_trial_list_shows_only_my_trials(api, msvle, mscrole) -> None:
    body = as_user(api, msvle.coordinator).get("/api/v1/trials/").json()
    assert body["count"] == 1
    assert [t["code"] for t in body["results"]] == ["MSVLE"]
    assert body["results"][0]["version_number"] == 1
    outsider = UserFactory(username="nobody")
    assert as_user(api, outsider).get("/api/v1/trials/").json()["count"] == 0
    assert api.get("/api/v1/trials/MSVLE/").status_code == 404


def test_trial_detail_summarises_the_protocol(api, msvle) -> None:
    body = as_user(api, msvle.coordinator).get("/api/v1/trials/MSVLE/").json()
    assert body["version"]["label"] == "1.6"
    assert body["arms"] == ["Mesenchymal stem cells (MSC)", "Placebo"]
    assert [s["code"] for s in body["sites"]] == ["VA01", "ZZ01"]
    assert [v["code"] for v in body["visits"]][:3] == ["SEL", "RAND", "D0"]
    week4 = next(v for v in body["visits"] if v["code"] == "W4")
    assert week4["day"] == 28
    assert week4["earliest_day"] == 28 - week4["window_before"]
    assert len(body["eligibility"]["inclusion"]) == 7
    assert len(body["eligibility"]["exclusion"]) == 25
    assert (
        body["eligibility"]["inclusion"][4]["text"] == "SLEDAI-2K ≥ 10 during the selection period."
    )
    assert body["stages"][0]["blinded"] is True


def test_trial_of_another_team_is_not_found(api, msvle, mscrole) -> None:
    assert as_user(api, msvle.coordinator).get("/api/v1/trials/MSCROLE/").status_code == 404
    response = api.get("/api/v1/trials/MSCROLE/participants/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


# Registration and list ----------------------------------------------------------------------


def test_register_gives_the_next_screening_number(api, msvle) -> None:
    client = as_user(api, msvle.coordinator)
    response = client.post(
        "/api/v1/trials/MSVLE/participants/",
        {"site": "VA01", "sex": "F", "date_of_birth": "1988-02-03"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["screening_number"] == "VA01-S001"
    assert body["status"] == "screening"
    assert body["subject_id"] is None
    second = client.post(
        "/api/v1/trials/MSVLE/participants/",
        {"site": "VA01", "sex": "M", "date_of_birth": "1970-01-01"},
        format="json",
    )
    assert second.json()["screening_number"] == "VA01-S002"


def test_register_refusals_name_the_field(api, msvle) -> None:
    client = as_user(api, msvle.coordinator)
    url = "/api/v1/trials/MSVLE/participants/"
    unknown = client.post(url, {"site": "XX99", "sex": "F", "date_of_birth": "1990-01-01"})
    assert unknown.status_code == 400
    assert unknown.json()["error"]["fields"] == {"site": ["Unknown site."]}
    young = client.post(url, {"site": "VA01", "sex": "F", "date_of_birth": "2010-01-01"})
    assert young.status_code == 400
    assert young.json()["error"]["message"] == "Age 16 is below the protocol minimum of 18."
    assert "date_of_birth" in young.json()["error"]["fields"]
    bad = client.post(url, {"site": "VA01", "sex": "X", "date_of_birth": "someday"})
    assert bad.status_code == 400
    assert set(bad.json()["error"]["fields"]) == {"sex", "date_of_birth"}
    # Registering at a site where one has no role is refused by the service.
    other = client.post(url, {"site": "ZZ01", "sex": "F", "date_of_birth": "1990-01-01"})
    assert other.status_code == 403
    assert other.json()["error"]["message"] == (
        "Your role does not allow you to register participants."
    )
    assert not msvle.trial.participants.exists()


def test_list_is_scoped_to_my_sites_and_filtered(api, msvle) -> None:
    mine = [register(msvle), register(msvle)]
    theirs = register(msvle, site=msvle.other_site)
    make_eligible(msvle, mine[1])
    coordinator = as_user(api, msvle.coordinator).get("/api/v1/trials/MSVLE/participants/").json()
    assert [p["id"] for p in coordinator["results"]] == [p.pk for p in mine]
    other = as_user(api, msvle.other_coordinator).get("/api/v1/trials/MSVLE/participants/")
    assert [p["id"] for p in other.json()["results"]] == [theirs.pk]
    client = as_user(api, msvle.statistician)
    assert client.get("/api/v1/trials/MSVLE/participants/").json()["count"] == 3
    eligible = client.get("/api/v1/trials/MSVLE/participants/?status=eligible").json()
    assert [p["id"] for p in eligible["results"]] == [mine[1].pk]
    at_other = client.get("/api/v1/trials/MSVLE/participants/?site=ZZ01").json()
    assert [p["id"] for p in at_other["results"]] == [theirs.pk]
    assert client.get("/api/v1/trials/MSVLE/participants/?status=nonsense").status_code == 400
    paged = client.get("/api/v1/trials/MSVLE/participants/?limit=2").json()
    assert len(paged["results"]) == 2
    assert paged["next"] is not None


@pytest.mark.parametrize("participants", [2, 6])
def test_participant_list_query_count_does_not_grow(
    api, msvle, participants, django_assert_num_queries
) -> None:
    with_allocation(msvle)
    for _ in range(participants):
        participant_randomize(actor=msvle.coordinator, participant=make_eligible(msvle), now=NOW)
    client = as_user(api, msvle.coordinator)
    # 1 session, 2 user, 3 the trial by code among my memberships' trials, 4 my memberships
    # for the site scope, 5 the page count, 6 the page of participants joined with trial,
    # site and cohort; 7-9 the session saved again (savepoint, update, release) because
    # idle sessions expire. Nothing per row.
    with django_assert_num_queries(9):
        response = client.get("/api/v1/trials/MSVLE/participants/")
    assert response.json()["count"] == participants


# The lifecycle ------------------------------------------------------------------------------


def test_lifecycle_register_to_day0_and_visits(api, msvle) -> None:
    with_allocation(msvle)
    client = as_user(api, msvle.coordinator)
    created = client.post(
        "/api/v1/trials/MSVLE/participants/",
        {"site": "VA01", "sex": "F", "date_of_birth": "1990-05-17"},
        format="json",
    ).json()
    base = f"/api/v1/participants/{created['id']}/"

    refused = client.post(
        base + "eligibility/", {"criterion_code": "IN01", "answer": True}, format="json"
    )
    assert refused.status_code == 400
    assert "consent has not been recorded" in refused.json()["error"]["message"]

    consent = client.post(
        base + "consent/", {"form_version": "2.1", "consent_date": str(TODAY)}, format="json"
    )
    assert consent.status_code == 201
    assert consent.json()["form_version"] == "2.1"
    assert client.get(base).json()["consents"][0]["consent_date"] == str(TODAY)

    checklist = client.get(base + "eligibility/").json()
    assert checklist["outcome"]["complete"] is False
    assert len(checklist["outcome"]["unanswered"]) == 32
    assert checklist["inclusion"][0]["answer"] is None
    for item in checklist["inclusion"] + checklist["exclusion"]:
        answered = client.post(
            base + "eligibility/",
            {"criterion_code": item["code"], "answer": item["kind"] == "inclusion"},
            format="json",
        )
        assert answered.status_code == 200, answered.json()
    assert answered.json()["outcome"]["eligible"] is True
    assert answered.json()["criterion"]["answer"] is False

    coordinator_confirm = client.post(base + "eligibility/confirm/")
    assert coordinator_confirm.status_code == 403
    assert coordinator_confirm.json()["error"]["message"] == (
        "Your role does not allow you to confirm eligibility."
    )
    confirmed = as_user(APIClient(), msvle.investigator).post(base + "eligibility/confirm/")
    assert confirmed.status_code == 200
    assert confirmed.json()["status"] == "eligible"

    refused = client.post(base + "randomize/", {}, format="json")
    assert refused.status_code == 400
    assert (
        "Exclusion 10 must hold on the day of randomization" in refused.json()["error"]["message"]
    )
    reconfirmed = client.post(
        base + "eligibility/reconfirm/",
        {"criterion_code": "EX10", "answer": False, "comment": "ECG normal"},
        format="json",
    )
    assert reconfirmed.status_code == 200, reconfirmed.json()
    randomized_ = client.post(base + "randomize/", {}, format="json")
    assert randomized_.status_code == 200, randomized_.json()
    body = randomized_.json()
    assert body["status"] == "randomized"
    assert body["randomization_number"] == "R0001"
    assert body["subject_id"].startswith("VA01-001-")
    assert not {"arm", "allocation"} & set(body)

    early = client.post(base + "day0/", {"day0": str(TODAY - timedelta(days=1))}, format="json")
    assert early.status_code == 400
    assert early.json()["error"]["fields"] == {"day0": ["Too early."]}
    day0 = client.post(base + "day0/", {"day0": str(TODAY)}, format="json")
    assert day0.status_code == 200
    assert day0.json()["status"] == "on_study"

    visits = client.get(base + "visits/").json()
    codes = [v["code"] for v in visits]
    assert codes[:4] == ["SEL", "RAND", "D0", "W1"]
    d0 = visits[2]
    assert (d0["target_date"], d0["window_from"], d0["window_to"]) == (str(TODAY),) * 3
    week1 = visits[3]
    assert week1["target_date"] == str(TODAY + timedelta(days=7))
    assert week1["window_from"] <= week1["target_date"] <= week1["window_to"]
    assert visits[1]["status"] == "completed"  # the randomization visit, as it happened

    recorded = client.post(f"/api/v1/visits/{d0['id']}/record/", {"actual_date": str(TODAY)})
    assert recorded.status_code == 200
    assert (recorded.json()["status"], recorded.json()["out_of_window"]) == ("completed", False)
    not_done = client.post(f"/api/v1/visits/{week1['id']}/not-done/", {"reason": ""})
    assert not_done.status_code == 400
    assert not_done.json()["error"]["message"] == "Say why the visit was not done."
    not_done = client.post(f"/api/v1/visits/{week1['id']}/not-done/", {"reason": "Flu"})
    assert not_done.json()["status"] == "not_done"
    extra = client.post(
        f"/api/v1/visits/{d0['id']}/unscheduled/",
        {"actual_date": str(TODAY), "reason": "Fever after infusion", "forms": ["vitals"]},
        format="json",
    )
    assert extra.status_code == 201, extra.json()
    assert (extra.json()["visit_number"], extra.json()["parent_id"]) == ("3.01", d0["id"])

    completed = client.post(base + "complete/")
    assert completed.status_code == 200
    assert completed.json()["status"] == "completed"
    again = client.post(base + "withdraw/", {"reason": "Moved"})
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "invalid_transition"


def test_changing_an_answer_needs_a_reason(api, msvle) -> None:
    participant = register(msvle)
    consent_record(
        actor=msvle.coordinator,
        participant=participant,
        form_version="1",
        consent_date=TODAY,
        now=NOW,
    )
    eligibility_answer(
        actor=msvle.coordinator,
        participant=participant,
        criterion_code="EX01",
        answer=False,
        now=NOW,
    )
    client = as_user(api, msvle.coordinator)
    url = f"/api/v1/participants/{participant.pk}/eligibility/"
    response = client.post(url, {"criterion_code": "EX01", "answer": True}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"reason": ["Required."]}
    missing = client.post(url, {"criterion_code": "EX01"})
    assert missing.json()["error"]["fields"] == {"answer": ["Answer yes or no."]}
    changed = client.post(
        url, {"criterion_code": "EX01", "answer": True, "reason": "Lab report"}, format="json"
    )
    assert changed.status_code == 200
    assert changed.json()["outcome"]["applying_exclusions"] == ["EX01"]


def test_screen_fail_withdraw_and_lost(api, msvle) -> None:
    client = as_user(api, msvle.coordinator)
    failing, leaving, lost = register(msvle), register(msvle), None
    blank = client.post(f"/api/v1/participants/{failing.pk}/screen-fail/", {"reason": " "})
    assert blank.status_code == 400
    assert blank.json()["error"]["fields"] == {"reason": ["Required."]}
    failed = client.post(f"/api/v1/participants/{failing.pk}/screen-fail/", {"reason": "UPCR"})
    assert (failed.json()["status"], failed.json()["screen_failure_reason"]) == (
        "screen_failed",
        "UPCR",
    )
    withdrawn = client.post(f"/api/v1/participants/{leaving.pk}/withdraw/", {"reason": "Moved"})
    assert (withdrawn.json()["status"], withdrawn.json()["end_reason"]) == ("withdrawn", "Moved")
    lost = randomized(msvle)
    response = client.post(f"/api/v1/participants/{lost.pk}/lost-to-follow-up/", {"reason": "?"})
    assert response.json()["status"] == "lost_to_follow_up"
    early = client.post(
        f"/api/v1/participants/{register(msvle).pk}/lost-to-follow-up/", {"reason": "?"}
    )
    assert early.status_code == 409


def test_randomize_without_list_or_during_escalation_is_refused(api, msvle, mscrole) -> None:
    participant = make_eligible(msvle)
    response = as_user(api, msvle.coordinator).post(
        f"/api/v1/participants/{participant.pk}/randomize/"
    )
    assert response.status_code == 400
    assert "No allocation list has been loaded" in response.json()["error"]["message"]
    waiting = make_eligible(mscrole)
    response = as_user(api, mscrole.coordinator).post(
        f"/api/v1/participants/{waiting.pk}/randomize/"
    )
    assert response.status_code == 400
    assert response.json()["error"]["message"] == (
        "Dose escalation is still running: enrol this participant in the open cohort."
    )


# Site scoping and roles ---------------------------------------------------------------------

PARTICIPANT_GETS = ["", "eligibility/", "visits/"]
PARTICIPANT_POSTS = {
    "consent/": {"form_version": "1", "consent_date": "2026-03-01"},
    "eligibility/": {"criterion_code": "IN01", "answer": True},
    "eligibility/confirm/": {},
    "screen-fail/": {"reason": "x"},
    "randomize/": {},
    "enrol/": {},
    "day0/": {"day0": "2026-03-02"},
    "withdraw/": {"reason": "x"},
    "lost-to-follow-up/": {"reason": "x"},
    "complete/": {},
    "unblind/": {"reason": "x", "password": DEFAULT_PASSWORD},
}
VISIT_POSTS = {
    "record/": {"actual_date": "2026-03-02"},
    "not-done/": {"reason": "x"},
    "unscheduled/": {"actual_date": "2026-03-02", "reason": "x"},
}


def test_another_sites_coordinator_gets_404_for_every_endpoint(api, msvle) -> None:
    participant = randomized(msvle)
    visit = Visit.objects.filter(participant=participant).first()
    client = as_user(api, msvle.other_coordinator)
    for suffix in [*PARTICIPANT_GETS, "allocation/"]:
        response = client.get(f"/api/v1/participants/{participant.pk}/{suffix}")
        assert response.status_code == 404, suffix
        assert response.json()["error"]["message"] == "No such participant."
    for suffix, data in PARTICIPANT_POSTS.items():
        response = client.post(
            f"/api/v1/participants/{participant.pk}/{suffix}", data, format="json"
        )
        assert response.status_code == 404, suffix
    for suffix, data in VISIT_POSTS.items():
        response = client.post(f"/api/v1/visits/{visit.pk}/{suffix}", data, format="json")
        assert response.status_code == 404, suffix
        assert response.json()["error"]["message"] == "No such visit."
    participant.refresh_from_db()
    assert participant.status == ParticipantStatus.RANDOMIZED
    assert not participant.unblindings.exists()


def test_monitor_reads_but_cannot_write(api, msvle) -> None:
    participant = randomized(msvle)
    visit = Visit.objects.filter(participant=participant).first()
    client = as_user(api, msvle.monitor)
    assert client.get("/api/v1/trials/MSVLE/participants/").json()["count"] == 1
    for suffix in PARTICIPANT_GETS:
        assert client.get(f"/api/v1/participants/{participant.pk}/{suffix}").status_code == 200
    for suffix, data in PARTICIPANT_POSTS.items():
        response = client.post(
            f"/api/v1/participants/{participant.pk}/{suffix}", data, format="json"
        )
        assert response.status_code == 403, (suffix, response.json())
        assert response.json()["error"]["code"] == "permission_denied"
    for suffix, data in VISIT_POSTS.items():
        response = client.post(f"/api/v1/visits/{visit.pk}/{suffix}", data, format="json")
        assert response.status_code == 403, suffix
    register_ = client.post(
        "/api/v1/trials/MSVLE/participants/",
        {"site": "VA01", "sex": "F", "date_of_birth": "1990-01-01"},
    )
    assert register_.status_code == 403
    assert client.get(f"/api/v1/participants/{participant.pk}/allocation/").status_code == 403
    visit.refresh_from_db()
    assert visit.status == VisitStatus.SCHEDULED or visit.status == VisitStatus.OPEN


def test_statistician_sees_participants_but_no_allocation(api, msvle) -> None:
    participant = randomized(msvle)
    client = as_user(api, msvle.statistician)
    listed = client.get("/api/v1/trials/MSVLE/participants/").json()["results"]
    assert [p["randomization_number"] for p in listed] == ["R0001"]
    assert not {key for p in listed for key in p} & {"arm", "allocation", "arm_code"}
    refused = client.get(f"/api/v1/participants/{participant.pk}/allocation/")
    assert refused.status_code == 403
    assert refused.json()["error"]["message"] == "Your role is blinded to allocation."


def test_unblinded_roles_get_the_arm(api, msvle) -> None:
    participant = randomized(msvle)
    arm = AllocationSlot.objects.get(participant=participant).arm_code
    names = {"MSC": "Mesenchymal stem cells (MSC)", "PLACEBO": "Placebo"}
    url = f"/api/v1/participants/{participant.pk}/allocation/"
    # The unblinded statistician is refused until the trial is locked (or a DSMB release).
    refused = as_user(api, msvle.unblinded_statistician).get(url)
    assert refused.status_code == 403
    assert "after the trial is locked" in refused.json()["error"]["message"]
    Trial.objects.filter(pk=msvle.trial.pk).update(locked_at=NOW)
    for user, ground in (
        (msvle.unblinded_statistician, "trial_lock"),
        (msvle.pharmacist, "pharmacy"),
    ):
        response = as_user(api, user).get(url)
        assert response.status_code == 200
        assert response.json()["arm"] == {"code": arm, "name": names[arm]}
        assert response.json()["ground"] == ground
        assert response["Cache-Control"] == "no-store"


def test_emergency_unblinding_shows_the_arm_and_opens_it_to_the_site_investigators(
    api, msvle
) -> None:
    participant = randomized(msvle)
    arm = AllocationSlot.objects.get(participant=participant).arm_code
    url = f"/api/v1/participants/{participant.pk}/unblind/"
    refused = as_user(api, msvle.coordinator).post(
        url, {"reason": "Anaphylaxis", "password": msvle.password}
    )
    assert refused.status_code == 403
    client = as_user(api, msvle.investigator)
    no_reason = client.post(url, {"reason": "", "password": msvle.password})
    assert no_reason.status_code == 400
    assert "arm" not in no_reason.json()
    no_password = client.post(url, {"reason": "Anaphylaxis during infusion"})
    assert no_password.status_code == 400
    assert "password" in no_password.json()["error"]["fields"]
    wrong = client.post(url, {"reason": "Anaphylaxis during infusion", "password": "guess"})
    assert wrong.status_code == 400
    assert wrong.json()["error"]["message"] == "The password is not correct; nothing was unblinded."
    assert "arm" not in wrong.json()
    assert client.get(f"/api/v1/participants/{participant.pk}/").json()["unblinded_at"] is None
    assert client.get(f"/api/v1/participants/{participant.pk}/allocation/").status_code == 403
    response = client.post(
        url, {"reason": "Anaphylaxis during infusion", "password": msvle.password}
    )
    assert response.status_code == 200
    assert response.json()["arm"]["code"] == arm
    assert response.json()["participant"]["unblinded_at"] is not None
    after = client.get(f"/api/v1/participants/{participant.pk}/").json()
    assert after["unblinded_at"] is not None
    assert "arm" not in after
    again = client.get(f"/api/v1/participants/{participant.pk}/allocation/")
    assert again.status_code == 200
    assert again.json()["ground"] == "emergency"


# Cohorts and allocation lists ---------------------------------------------------------------


def test_enrol_fill_cohort_and_safety_review(api, mscrole) -> None:
    client = as_user(api, mscrole.coordinator)
    enrolled = []
    for _ in range(3):
        participant = make_eligible(mscrole)
        response = client.post(f"/api/v1/participants/{participant.pk}/enrol/")
        assert response.status_code == 200, response.json()
        enrolled.append(response.json())
    assert enrolled[0]["cohort"] == {
        "code": "C1",
        "name": "Cohort 1 (1 x 10^6 cells/kg)",
        "dose_cells_per_kg": 1e6,
    }
    assert enrolled[0]["status"] == "enrolled"
    cohorts = client.get("/api/v1/trials/MSCROLE/cohorts/").json()
    assert [(c["code"], c["status"], c["enrolled"]) for c in cohorts] == [
        ("C1", "full", 3),
        ("C2", "planned", 0),
        ("C3", "planned", 0),
    ]
    c1 = cohorts[0]["id"]
    waiting = make_eligible(mscrole)
    full = client.post(f"/api/v1/participants/{waiting.pk}/enrol/")
    assert full.status_code == 400
    assert "No cohort is open" in full.json()["error"]["message"]

    review = {"decision": "escalate", "rationale": "No DLT in C1"}
    assert client.post(f"/api/v1/cohorts/{c1}/safety-review/", review).status_code == 403
    monitor = as_user(APIClient(), mscrole.medical_monitor)
    blank = monitor.post(
        f"/api/v1/cohorts/{c1}/safety-review/", {"decision": "stay", "rationale": "x"}
    )
    assert blank.status_code == 400
    assert blank.json()["error"]["fields"] == {"expand_by": ["At least 1."]}
    done = monitor.post(f"/api/v1/cohorts/{c1}/safety-review/", review)
    assert done.status_code == 201, done.json()
    assert done.json()["decision"] == "escalate"
    assert Cohort.objects.get(trial=mscrole.trial, code="C2").status == CohortStatus.OPEN
    assert client.post(f"/api/v1/participants/{waiting.pk}/enrol/").json()["cohort"]["code"] == "C2"
    outsider = as_user(APIClient(), UserFactory(username="stranger"))
    assert outsider.post(f"/api/v1/cohorts/{c1}/safety-review/", review).status_code == 404


def _csv(lines: list[tuple[str, int, str, str]]) -> SimpleUploadedFile:
    text = "stratum,sequence,block_number,block_size,arm,randomization_number\n"
    text += "".join(f"{s},{n},1,2,{arm},{number}\n" for s, n, arm, number in lines)
    return SimpleUploadedFile("list.csv", text.encode(), content_type="text/csv")


def test_allocation_import_by_unblinded_statistician_only(api, msvle) -> None:
    url = "/api/v1/trials/MSVLE/allocation/import/"
    lines = [("site=VA01", 1, "PLACEBO", "A001"), ("site=VA01", 2, "MSC", "A002")]
    refused = as_user(api, msvle.coordinator).post(url, {"file": _csv(lines)}, format="multipart")
    assert refused.status_code == 403
    client = as_user(api, msvle.unblinded_statistician)
    broken = client.post(url, {"file": _csv([("site=XX", 1, "MSC", "A1")])}, format="multipart")
    assert broken.status_code == 400
    assert "unknown stratum 'site=XX'" in broken.json()["error"]["message"]
    response = client.post(url, {"file": _csv(lines)}, format="multipart")
    assert response.status_code == 201, response.json()
    assert response.json()["lines"] == 2
    assert response.json()["stage_code"] == "RCT"
    assert b"PLACEBO" not in response.content and b"MSC" not in response.content
    participant = participant_randomize(
        actor=msvle.coordinator, participant=make_eligible(msvle), now=NOW
    )
    assert participant.randomization_number == "A001"


def test_openapi_schema_lists_the_participant_endpoints(client, db) -> None:
    client.force_login(UserFactory())  # the schema is for signed-in users
    document = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    paths = document["paths"]
    for path in (
        "/api/v1/trials/",
        "/api/v1/trials/{code}/participants/",
        "/api/v1/participants/{participant_id}/eligibility/",
        "/api/v1/participants/{participant_id}/randomize/",
        "/api/v1/participants/{participant_id}/allocation/",
        "/api/v1/visits/{visit_id}/record/",
        "/api/v1/cohorts/{cohort_id}/safety-review/",
        "/api/v1/trials/{code}/allocation/import/",
    ):
        assert path in paths, path
    listing = paths["/api/v1/trials/{code}/participants/"]["get"]
    assert listing["summary"] == "Participants of a trial at the sites I work at"
    assert {"status", "site", "limit", "offset"} <= {p["name"] for p in listing["parameters"]}
    schemas = document["components"]["schemas"]
    assert "arm" not in schemas["ParticipantOutput"]["properties"]
    assert "arm" in schemas["AllocationOutput"]["properties"]


def test_consent_dated_today_at_the_site_is_accepted_after_midnight_there(
    api, msvle, time_machine
) -> None:
    participant = register(msvle)
    # 23:30 UTC on 2 March is already 3 March in Madrid, where the form was signed.
    time_machine.move_to(datetime(2026, 3, 2, 23, 30, tzinfo=UTC), tick=False)
    client = as_user(api, msvle.coordinator)
    url = f"/api/v1/participants/{participant.pk}/consent/"
    response = client.post(url, {"form_version": "1", "consent_date": "2026-03-03"})
    assert response.status_code == 201, response.json()
    tomorrow = client.post(url, {"form_version": "1", "consent_date": "2026-03-04"})
    assert tomorrow.json()["error"]["message"] == "Consent date is in the future."
