"""Unblinded exports read arms: each hand-over (download, or the export command's copy) records
one read per participant it shows, with the ground; blinded ones and refusals record none."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import time_machine
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from exports.services import export_run
from tests.exports.job_fixtures import T1, World, after, grant_release, lock_trial, request
from tests.world import make_eligible, on_study, reconfirm_for_randomization
from trials.models import AllocationRead, ArmGround
from trials.services import dsmb_release_revoke, participant_randomize


def randomized(world: World, count: int) -> list:
    with time_machine.travel(T1, tick=False):
        return [on_study(world.team) for _ in range(count)]


def randomized_at(world: World, at) -> None:
    with time_machine.travel(at, tick=False):
        participant = make_eligible(world.team, reconfirm=False)
        reconfirm_for_randomization(world.team, participant, now=at)
        participant_randomize(actor=world.team.coordinator, participant=participant, now=at)


def download(user, export) -> int:
    api = APIClient()
    api.force_login(user)
    reply = api.get(f"/api/v1/exports/{export.pk}/download/")
    if reply.status_code == 200:
        b"".join(reply.streaming_content)
    return reply.status_code


def test_an_unblinded_download_records_one_read_per_participant_shown(world: World) -> None:
    shown = randomized(world, 3)
    # Randomized after the export's as-of instant: not in it, so not read.
    randomized_at(world, after(T1, days=10))
    release = grant_release(world, at=timezone.now() - timedelta(hours=1))
    statistician = world.team.unblinded_statistician
    export = request(
        world, statistician, unblinded=True, as_of=after(T1, days=1), now=timezone.now()
    )
    export_run(export_id=export.pk)
    assert not AllocationRead.objects.exists(), "running the job shows no arm to anyone"

    assert download(statistician, export) == 200
    reads = AllocationRead.objects.order_by("participant_id")
    assert [r.participant_id for r in reads] == sorted(p.pk for p in shown)
    assert {(r.user_id, r.ground, r.dsmb_release_id, r.channel, r.path) for r in reads} == {
        (
            statistician.pk,
            ArmGround.DSMB_RELEASE,
            release.pk,
            "export",
            f"/api/v1/exports/{export.pk}/download/",
        )
    }
    # Each download is a read again; a refused one records nothing.
    assert download(statistician, export) == 200
    assert AllocationRead.objects.count() == 6
    dsmb_release_revoke(
        actor=world.team.trial_admin, release=release, reason="Meeting over", now=timezone.now()
    )
    assert download(statistician, export) == 403
    assert AllocationRead.objects.count() == 6


def test_the_web_download_after_lock_records_the_lock_as_ground(world: World, client) -> None:
    randomized(world, 2)
    lock_trial(world, at=timezone.now() - timedelta(hours=1))
    statistician = world.team.unblinded_statistician
    export = request(
        world, statistician, unblinded=True, as_of=after(T1, days=1), now=timezone.now()
    )
    export_run(export_id=export.pk)
    client.force_login(statistician)
    reply = client.get(f"/exports/{export.pk}/download/")
    assert reply.status_code == 200
    assert {(r.ground, r.channel, r.path) for r in AllocationRead.objects.all()} == {
        ("trial_lock", "export", f"/exports/{export.pk}/download/")
    }
    assert AllocationRead.objects.count() == 2


def test_a_blinded_export_records_no_read(world: World) -> None:
    randomized(world, 2)
    lock_trial(world, at=timezone.now() - timedelta(hours=1))
    export = request(world, world.team.statistician, as_of=after(T1, days=1), now=timezone.now())
    export_run(export_id=export.pk)
    assert download(world.team.statistician, export) == 200
    # Even an unblinded statistician downloading it reads no arm.
    assert download(world.team.unblinded_statistician, export) == 200
    assert not AllocationRead.objects.exists()


def test_the_export_command_records_the_reads_of_its_user(world: World, tmp_path: Path) -> None:
    shown = randomized(world, 2)
    lock_trial(world, at=timezone.now() - timedelta(hours=1))
    user = world.team.unblinded_statistician
    call_command(
        "export",
        "--trial",
        world.trial.code,
        "--out",
        str(tmp_path / "out"),
        "--format",
        "csv",
        "--unblinded",
        "--user",
        user.username,
        stdout=io.StringIO(),
        stderr=io.StringIO(),
    )
    reads = AllocationRead.objects.all()
    assert sorted(r.participant_id for r in reads) == sorted(p.pk for p in shown)
    assert {(r.user_id, r.ground, r.channel) for r in reads} == {(user.pk, "trial_lock", "export")}
    assert {r.path for r in reads} == {f"manage.py export #{reads[0].path.split('#')[1]}"}
