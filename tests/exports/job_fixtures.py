"""The world of the export job tests: a trial loaded at a known instant, its team, data entered
at later instants, and a trial lock. The fixtures `world` and `exports_dir` (a folder of the
test's own for export files) are in this folder's conftest."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import time_machine

from accounts.models import User
from ecrf.access import Role
from exports.models import Export
from exports.services import export_request
from review.models import Lock, LockLevel
from review.services import lock_apply
from tests.factories import UserFactory
from tests.personas import NOW, Team, load, make_team, member
from tests.world import enter_sledai, on_study
from trials.models import DsmbRelease, Participant
from trials.services import dsmb_release_grant

# The protocol is loaded (and the trial set up) at T0; a participant goes on study at T1;
# a SLEDAI-2K is entered at T2. Everything else happens later, at LATER.
T0 = NOW
T1 = datetime(2026, 3, 5, 10, 0, tzinfo=UTC)
T2 = datetime(2026, 9, 1, 10, 0, tzinfo=UTC)
LATER = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)


@dataclass
class World:
    team: Team
    data_manager: User
    outsider: User

    @property
    def trial(self) -> Any:
        return self.team.trial


def build_world() -> World:
    """MSVLE loaded at T0 with a team at two sites, a data manager and an outsider."""
    with time_machine.travel(T0, tick=False):
        team = make_team(load("nct03673748.yaml"))
        data_manager = member(team.trial, Role.DATA_MANAGER, None, "msvle_data_manager")
        outsider = UserFactory(username="msvle_outsider")
    return World(team=team, data_manager=data_manager, outsider=outsider)


def populate(world: World) -> Participant:
    """A participant on study from T1, and a SLEDAI-2K of week 4 entered at T2."""
    with time_machine.travel(T1, tick=False):
        participant = on_study(world.team)
    with time_machine.travel(T2, tick=False):
        enter_sledai(world.team, participant, now=T2)
    return participant


def lock_trial(world: World, *, at: datetime = LATER) -> Lock:
    return lock_apply(
        actor=world.data_manager,
        level=LockLevel.TRIAL,
        trial=world.trial,
        reason="Database lock for the final analysis",
        now=at,
    )


def grant_release(
    world: World, *, at: datetime = LATER, expires_at: datetime | None = None
) -> DsmbRelease:
    return dsmb_release_grant(
        actor=world.team.trial_admin,
        trial=world.trial,
        recipient=world.team.unblinded_statistician,
        reason="DSMB meeting 2 (interim safety review)",
        now=at,
        expires_at=expires_at,
    )


def request(world: World, actor: User | None = None, *, fmt: str = "csv", **kwargs: Any) -> Export:
    """A request that leaves the job for the test to run."""
    return export_request(
        actor=actor or world.team.statistician,
        trial=world.trial,
        fmt=fmt,
        enqueue=False,
        **{"now": LATER, **kwargs},
    )


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_zip(data: bytes) -> dict[str, bytes]:
    """The members of a zip by name, with the archive's own folder prefix removed."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {info.filename.split("/", 1)[1]: archive.read(info) for info in archive.infolist()}


def check_manifest_hashes(members: dict[str, bytes]) -> dict[str, Any]:
    """The manifest, after checking every file it lists against its size and SHA-256."""
    manifest = json.loads(members["manifest.json"])
    assert manifest["files"], "an export holds at least one file"
    assert set(members) == {"manifest.json", *(item["name"] for item in manifest["files"])}
    for item in manifest["files"]:
        assert sha256(members[item["name"]]) == item["sha256"], item["name"]
        assert len(members[item["name"]]) == item["bytes"], item["name"]
    return dict(manifest)


def after(moment: datetime, **delta: float) -> datetime:
    return moment + timedelta(**delta)
