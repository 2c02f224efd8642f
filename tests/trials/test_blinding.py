"""Blinding: no blinded role receives a randomized participant's arm, by API or by page."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from rest_framework.test import APIClient

from tests.factories import UserFactory
from tests.personas import NOW, Team, load, make_team
from tests.sharing import each_test, module_fixture
from tests.world import make_eligible, with_allocation
from trials.models import AllocationRead, AllocationSlot, ArmGround, Participant
from trials.services import dsmb_release_grant, participant_randomize, participant_unblind
from visits.services import participant_set_day0

ARM_NAMES = {"MSC": "Mesenchymal stem cells (MSC)", "PLACEBO": "Placebo"}
BLINDED = [
    "investigator",
    "coordinator",
    "monitor",
    "medical_monitor",
    "statistician",
    "trial_admin",
    # Before the trial lock and without a DSMB release, the unblinded statistician is blind.
    "unblinded_statistician",
]
UNBLINDED = ["pharmacist", "unblinded_statistician"]


@pytest.fixture(autouse=True)
def frozen(time_machine):
    time_machine.move_to(NOW + timedelta(hours=1), tick=False)


def _randomized(msvle: Team) -> list[Participant]:
    """Four randomized participants on study: whole blocks of 2 or 4, so both arms occur;
    the first was unblinded in an emergency, which must not unblind anyone else's view."""
    with_allocation(msvle)
    participants = []
    for _ in range(4):
        participant = participant_randomize(
            actor=msvle.coordinator, participant=make_eligible(msvle), now=NOW
        )
        participants.append(
            participant_set_day0(
                actor=msvle.coordinator, participant=participant, day0=NOW.date(), now=NOW
            )
        )
    participant_unblind(
        actor=msvle.investigator,
        participant=participants[0],
        reason="Anaphylaxis",
        password=msvle.password,
        now=NOW,
    )
    arms = set(
        AllocationSlot.objects.filter(participant__in=participants).values_list(
            "arm_code", flat=True
        )
    )
    assert arms == {"MSC", "PLACEBO"}
    return participants


def _blinding_world() -> tuple[Team, list[Participant]]:
    with time_machine.travel(NOW + timedelta(hours=1), tick=False):
        team = make_team(load("nct03673748.yaml"))
        return team, _randomized(team)


module_blinding = module_fixture("module_blinding", _blinding_world)


@pytest.fixture
def blinding(module_blinding: Any, db: None) -> tuple[Team, list[Participant]]:
    """The trial's team and four randomized participants, built once for the module."""
    return each_test(module_blinding, _blinding_world)


@pytest.fixture
def msvle(blinding: tuple[Team, list[Participant]]) -> Team:
    return blinding[0]


@pytest.fixture
def randomized(blinding: tuple[Team, list[Participant]]) -> list[Participant]:
    """Four randomized participants on study: whole blocks of 2 or 4, so both arms occur;
    the first was unblinded in an emergency, which must not unblind anyone else's view."""
    return blinding[1]


def revealing_keys(data: Any, path: str = "") -> list[str]:
    found = []
    if isinstance(data, dict):
        for key, value in data.items():
            lowered = key.lower()
            if lowered == "arm" or lowered.startswith("arm_") or "allocation" in lowered:
                found.append(f"{path}/{key}")
            found += revealing_keys(value, f"{path}/{key}")
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found += revealing_keys(value, f"{path}/{index}")
    return found


def revealing_values(data: Any) -> list[str]:
    if isinstance(data, dict):
        return [hit for value in data.values() for hit in revealing_values(value)]
    if isinstance(data, list):
        return [hit for value in data for hit in revealing_values(value)]
    if isinstance(data, str) and (data in ARM_NAMES or data in ARM_NAMES.values()):
        return [data]
    return []


def assert_blind_text(body: str, where: str) -> None:
    # "MSC" is also part of trial names elsewhere; in this trial's participant data the word
    # on its own can only be the arm code.
    assert "PLACEBO" not in body, where
    assert "Placebo" not in body, where
    assert "Mesenchymal stem cells" not in body, where
    assert re.search(r"\bMSC\b", body) is None, where


def assert_blind_json(body: Any, where: str) -> None:
    assert revealing_keys(body) == [], where
    assert revealing_values(body) == [], where
    assert_blind_text(json.dumps(body, ensure_ascii=False), where)


def participant_gets(participant: Participant) -> list[str]:
    base = f"/api/v1/participants/{participant.pk}/"
    return [base, base + "eligibility/", base + "visits/"]


def test_the_checks_catch_an_arm(msvle, randomized) -> None:
    """The checks below would fail if the arm were there: try them on the arm itself."""
    api = APIClient()
    api.force_login(msvle.pharmacist)
    body = api.get(f"/api/v1/participants/{randomized[0].pk}/allocation/").json()
    with pytest.raises(AssertionError):
        assert_blind_json(body, "allocation")
    with pytest.raises(AssertionError):
        assert_blind_json({"participant": {"treatment": body["arm"]["name"]}}, "value only")
    with pytest.raises(AssertionError):
        assert_blind_text("<td>MSC</td>", "html")


@pytest.mark.parametrize("persona", BLINDED)
def test_blinded_roles_never_receive_the_arm_from_the_api(msvle, randomized, persona) -> None:
    user = getattr(msvle, persona)
    reads_before = AllocationRead.objects.filter(user=user).count()
    api = APIClient()
    api.force_login(user)
    urls = ["/api/v1/trials/", "/api/v1/trials/MSVLE/participants/"]
    urls += ["/api/v1/trials/MSVLE/participants/?status=on_study", "/api/v1/trials/MSVLE/cohorts/"]
    for participant in randomized:
        urls += participant_gets(participant)
    for url in urls:
        response = api.get(url)
        assert response.status_code == 200, (persona, url)
        assert_blind_json(response.json(), f"{persona} {url}")
    listed = api.get("/api/v1/trials/MSVLE/participants/").json()["results"]
    assert len(listed) == 4
    assert all(row["randomization_number"] for row in listed)
    unblinded = set(
        Participant.objects.filter(unblinded_at__isnull=False).values_list("pk", flat=True)
    )
    assert unblinded == {randomized[0].pk}
    for participant in randomized:
        refused = api.get(f"/api/v1/participants/{participant.pk}/allocation/")
        if persona == "investigator" and participant.pk in unblinded:
            # The investigators of the site know the arm of the one they unblinded.
            assert refused.status_code == 200
            assert refused.json()["ground"] == ArmGround.EMERGENCY
            continue
        assert refused.status_code == 403, persona
        assert_blind_json(refused.json(), f"{persona} allocation refusal")
    reads = AllocationRead.objects.filter(user=user).count() - reads_before
    expected = 1 if persona == "investigator" else 0
    assert reads == expected, "a refused read is never recorded; a read always is"
    # Refusals and errors do not name the arm either.
    again = api.post(f"/api/v1/participants/{randomized[1].pk}/randomize/")
    assert again.status_code in (403, 409)
    assert_blind_json(again.json(), f"{persona} randomize again")


def test_protocol_summary_names_arms_but_no_participant_allocation(msvle, randomized) -> None:
    api = APIClient()
    api.force_login(msvle.coordinator)
    body = api.get("/api/v1/trials/MSVLE/").json()
    # The arms of the protocol are public; which participant is on which never is.
    assert body["arms"] == list(ARM_NAMES.values())
    assert [key for key in revealing_keys(body) if "allocation" in key] == []
    raw = json.dumps(body)
    for participant in randomized:
        assert participant.identifier not in raw
        assert participant.randomization_number not in raw


@pytest.mark.parametrize("persona", BLINDED)
def test_blinded_roles_never_see_the_arm_on_pages(client, msvle, randomized, persona) -> None:
    client.force_login(getattr(msvle, persona))
    listing = client.get("/trials/participants/")
    assert listing.status_code == 200
    page = listing.content.decode()
    assert all(p.identifier in page for p in randomized), persona
    assert_blind_text(page, f"{persona} list")
    for participant in randomized:
        response = client.get(f"/trials/participants/{participant.pk}/")
        assert response.status_code == 200, persona
        body = response.content.decode()
        assert participant.randomization_number in body
        assert "Treatment to prepare" not in body
        assert_blind_text(body, f"{persona} page of {participant.identifier}")


@pytest.mark.parametrize("persona", UNBLINDED)
def test_unblinded_roles_get_the_arm(client, msvle, randomized, persona) -> None:
    user = getattr(msvle, persona)
    if persona == "unblinded_statistician":
        dsmb_release_grant(
            actor=msvle.trial_admin,
            trial=msvle.trial,
            recipient=user,
            reason="DSMB meeting 1",
            now=NOW,
        )
    api = APIClient()
    api.force_login(user)
    client.force_login(user)
    for participant in randomized:
        arm = AllocationSlot.objects.get(participant=participant).arm_code
        body = api.get(f"/api/v1/participants/{participant.pk}/allocation/").json()
        assert body["arm"] == {"code": arm, "name": ARM_NAMES[arm]}
        assert body["randomization_number"] == participant.randomization_number
        # The general participant read stays arm-free even for them.
        assert_blind_json(api.get(f"/api/v1/participants/{participant.pk}/").json(), persona)
    page = client.get(f"/trials/participants/{randomized[1].pk}/").content.decode()
    arm = AllocationSlot.objects.get(participant=randomized[1]).arm_code
    if persona == "pharmacist":
        assert f"<strong>{ARM_NAMES[arm]}</strong> ({arm})" in page
        with pytest.raises(AssertionError):
            assert_blind_text(page, "pharmacist page")
    else:
        # Anyone else asks for the arm on a page of its own.
        assert_blind_text(page, f"{persona} page")
        assert f"/trials/participants/{randomized[1].pk}/allocation/" in page
        shown = client.get(f"/trials/participants/{randomized[1].pk}/allocation/").content
        assert f"<strong>{ARM_NAMES[arm]}</strong>" in shown.decode()
        assert "Shown to you on this ground: DSMB release." in shown.decode()


def test_the_investigator_sees_the_arm_of_the_participant_unblinded_only(msvle, randomized) -> None:
    participant = randomized[2]
    arm = AllocationSlot.objects.get(participant=participant).arm_code
    api = APIClient()
    api.force_login(msvle.investigator)
    allocation = f"/api/v1/participants/{participant.pk}/allocation/"
    assert api.get(allocation).status_code == 403
    response = api.post(
        f"/api/v1/participants/{participant.pk}/unblind/",
        {"reason": "SUSAR", "password": msvle.password},
    )
    assert response.json()["arm"] == {"code": arm, "name": ARM_NAMES[arm]}
    for url in participant_gets(participant):
        assert_blind_json(api.get(url).json(), url)
    # From now on the investigators of the site may read it again, each read recorded.
    again = api.get(allocation).json()
    assert (again["arm"]["code"], again["ground"]) == (arm, ArmGround.EMERGENCY)
    # A participant never unblinded stays blind to them.
    assert api.get(f"/api/v1/participants/{randomized[1].pk}/allocation/").status_code == 403


def test_openapi_only_allocation_responses_carry_the_arm(client, db) -> None:
    client.force_login(UserFactory())  # the schema is for signed-in users
    document = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    assert "/api/v1/participants/{participant_id}/allocation/" in document["paths"]
    assert "/api/v1/participants/{participant_id}/unblind/" in document["paths"]
    carrying = {
        name
        for name, schema in document["components"]["schemas"].items()
        if revealing_keys(schema.get("properties", {}))
    }
    assert carrying == {"AllocationOutput", "UnblindOutput"}
