"""The infusion's allocation-revealing fields follow the blinding gate: a revoked or expired DSMB
release hides them again from the unblinded statistician in the form API, pages and history,
and every response that shows them records one arm read, with its ground."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.utils import timezone
from rest_framework.test import APIClient

from tests.casebook.blinding import REVEALING_NAMES, leaks, read_all, url
from tests.world import grant_release
from trials.models import AllocationRead, ArmGround
from trials.services import dsmb_release_revoke

pytestmark = pytest.mark.usefixtures("after_week24")


def api_as(user: Any) -> APIClient:
    api = APIClient()
    api.force_login(user)
    return api


def test_a_revoked_release_hides_the_product_again(msvle, participant, infusion) -> None:
    release = grant_release(msvle, now=timezone.now() - timedelta(days=1))
    api = api_as(msvle.unblinded_statistician)
    shown = read_all(api, participant, infusion["id"])
    assert {"kit_number", "cell_count_1e6"} <= leaks(shown["detail"])
    dsmb_release_revoke(
        actor=msvle.trial_admin, release=release, reason="Meeting over", now=timezone.now()
    )
    before = AllocationRead.objects.count()
    hidden = read_all(api, participant, infusion["id"])
    for name, payload in hidden.items():
        assert leaks(payload) == set(), name
    assert AllocationRead.objects.count() == before, "nothing shown, nothing recorded"


def test_an_expired_release_hides_the_product_again(msvle, participant, infusion) -> None:
    now = timezone.now()
    grant_release(msvle, now=now - timedelta(days=1), expires_at=now + timedelta(minutes=5))
    api = api_as(msvle.unblinded_statistician)
    assert "kit_number" in api.get(url(participant, f"{infusion['id']}/")).json()
    with time_machine.travel(now + timedelta(minutes=5), tick=False):
        detail = api.get(url(participant, f"{infusion['id']}/")).json()
        history = api.get(url(participant, f"{infusion['id']}/history/")).json()
    assert leaks(detail) == set() and leaks(history) == set()
    assert detail["volume_ml"] is not None


def test_each_response_that_shows_the_product_records_one_read(
    msvle,
    participant,
    infusion,
) -> None:
    before = set(AllocationRead.objects.values_list("pk", flat=True))
    api = api_as(msvle.pharmacist)
    read_all(api, participant, infusion["id"])
    new = AllocationRead.objects.exclude(pk__in=before).order_by("pk")
    # List, detail and history show the product; the casebook grid shows no value.
    assert [(r.ground, r.channel, r.path) for r in new] == [
        (ArmGround.PHARMACY, "form", url(participant)),
        (ArmGround.PHARMACY, "form", url(participant, f"{infusion['id']}/")),
        (ArmGround.PHARMACY, "form", url(participant, f"{infusion['id']}/history/")),
    ]
    assert {(r.user_id, r.participant_id) for r in new} == {(msvle.pharmacist.pk, participant.pk)}


def test_the_pharmacists_entries_were_recorded_as_reads_too(msvle, participant, infusion) -> None:
    # The fixture's entry and recount by the pharmacist returned the product: two reads. The
    # coordinator's change returned none of it: no read.
    reads = AllocationRead.objects.order_by("pk")
    assert [(r.user_id, r.ground, r.channel) for r in reads] == [
        (msvle.pharmacist.pk, "pharmacy", "form"),
        (msvle.pharmacist.pk, "pharmacy", "form"),
    ]


@pytest.mark.parametrize(
    "role", ["coordinator", "monitor", "statistician", "unblinded_statistician"]
)
def test_blinded_readers_record_no_read(msvle, participant, infusion, users, role) -> None:
    before = AllocationRead.objects.count()
    read_all(api_as(users[role]), participant, infusion["id"])
    assert AllocationRead.objects.count() == before


def test_pages_review_and_audit_trail_record_the_reads(
    client,
    msvle,
    participant,
    infusion,
) -> None:
    grant_release(msvle, now=timezone.now() - timedelta(days=1))
    record = infusion["id"]
    pages = [
        f"/casebook/{participant.pk}/infusion/{record}/",
        f"/casebook/{participant.pk}/infusion/{record}/history/",
        f"/review/participants/{participant.pk}/infusion/{record}/",
        f"/review/participants/{participant.pk}/audit-trail/",
        f"/review/participants/{participant.pk}/audit-trail.csv",
        f"/api/v1/participants/{participant.pk}/audit-trail/",
    ]
    before = set(AllocationRead.objects.values_list("pk", flat=True))
    client.force_login(msvle.unblinded_statistician)
    for page in pages:
        response = client.get(page)
        assert response.status_code == 200, page
        assert "K-0042" in response.getvalue().decode(), page
    new = AllocationRead.objects.exclude(pk__in=before).order_by("pk")
    assert [(r.path, r.ground, r.channel) for r in new] == [
        (page, ArmGround.DSMB_RELEASE, "form") for page in pages
    ]
    # The same pages for the monitor: no product, no read.
    client.force_login(msvle.monitor)
    for page in pages[2:]:
        body = client.get(page).getvalue().decode()
        assert "K-0042" not in body, page
    assert AllocationRead.objects.exclude(pk__in=before).count() == len(pages)


def test_an_audit_trail_without_a_revealing_change_records_no_read(
    msvle,
    participant,
    infusion,
) -> None:
    before = AllocationRead.objects.count()
    trail = api_as(msvle.pharmacist).get(
        f"/api/v1/participants/{participant.pk}/audit-trail/", {"form": "visit"}
    )
    assert trail.status_code == 200
    assert not {row["field"] for row in trail.json()["results"]} & REVEALING_NAMES
    assert AllocationRead.objects.count() == before


def test_the_emergency_unblinded_investigator_sees_the_product_and_is_recorded(
    msvle,
    participant,
    infusion,
) -> None:
    from trials.services import participant_unblind

    api = api_as(msvle.investigator)
    assert leaks(api.get(url(participant, f"{infusion['id']}/")).json()) == set()
    participant_unblind(
        actor=msvle.investigator,
        participant=participant,
        reason="Anaphylaxis",
        password=msvle.password,
        now=timezone.now(),
    )
    detail = api.get(url(participant, f"{infusion['id']}/")).json()
    assert "kit_number" in detail
    read = AllocationRead.objects.order_by("-pk").first()
    assert (read.user, read.ground, read.channel) == (msvle.investigator, "emergency", "form")
    # The coordinator of the same site stays blind.
    assert (
        leaks(api_as(msvle.coordinator).get(url(participant, f"{infusion['id']}/")).json()) == set()
    )
