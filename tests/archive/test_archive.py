"""The casebook PDF/A, the site archive of the investigator and the annotated CRF."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.db import transaction
from django.test import Client
from pypdf import PdfReader

from accounts.models import User
from archive.services import casebook_pdf, site_archive_request, site_archive_run
from casebook.catalogue import form_type
from ecrf.access import Role
from ecrf.errors import InvalidTransitionError, PermissionDeniedError
from review.models import ResponseCode, SignatureScope
from review.services.locks import lock_apply
from review.services.queries import query_answer, query_open
from review.services.signatures import signature_sign
from tests.personas import Team, load, make_team, member
from tests.world import enter_sledai, later, on_study
from trials.models import Participant


@dataclass
class World:
    team: Team
    participant: Participant
    data_manager: User
    other_investigator: User


@pytest.fixture(scope="module")
def world(django_db_setup: None, django_db_blocker: Any) -> Iterator[World]:
    """MSV_LE with one participant: a SLEDAI-2K with a query answered, the casebook signed and
    the site locked. Built once for the module and rolled back after its last test."""
    with (
        django_db_blocker.unblock(),
        transaction.atomic(),
        time_machine.travel("2026-09-01 10:00:00+00:00", tick=False),
    ):
        team = make_team(load("nct03673748.yaml"))
        participant = on_study(team)
        w4 = enter_sledai(team, participant)
        query = query_open(
            actor=team.monitor,
            ftype=form_type("sledai2k"),
            record=w4,
            field_name="dna",
            text="Is the anti-dsDNA rise in the source?",
            now=later(1),
        )
        query_answer(
            actor=team.investigator,
            query=query,
            response_code=ResponseCode.CONFIRMED,
            text="In the lab report of 12 March.",
            now=later(2),
        )
        signature_sign(
            actor=team.investigator,
            request=None,
            password=team.password,
            participant=participant,
            scope=SignatureScope.CASEBOOK,
            acknowledged=True,
            now=later(3),
        )
        data_manager = member(team.trial, Role.DATA_MANAGER, None, "msvle_dm")
        lock_apply(
            actor=data_manager,
            level="site",
            trial=team.trial,
            site=team.site,
            reason="Site close-out",
            now=later(4),
        )
        other = member(team.trial, Role.INVESTIGATOR, team.other_site, "msvle_investigator_b")
        yield World(team, participant, data_manager, other)
        transaction.set_rollback(True)


def _text(data: bytes) -> str:
    """The PDF's words, each run of white space (a line wrapped) as one space."""
    pages = PdfReader(io.BytesIO(data)).pages
    return " ".join(" ".join(page.extract_text() for page in pages).split())


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_the_casebook_pdf_shows_forms_queries_signatures_and_audit_trail(world: World) -> None:
    team, participant = world.team, world.participant
    data = casebook_pdf(
        user=team.investigator, participant=participant, as_of=later(5), now=later(5)
    )
    text = _text(data)
    # The form with its labels, the derived total explained, times on Madrid's clock.
    assert "SLEDAI-2K" in text
    assert "Anti-dsDNA" in text or "anti-dsDNA" in text
    assert "= " in text and "SLEDAI-2K" in text.split("How the derived values")[1][:200]
    assert "CEST" in text or "+02" in text
    # The query and its answer, the signature's manifestation.
    assert "Is the anti-dsDNA rise in the source?" in text
    assert "In the lab report of 12 March." in text
    assert "I confirm these data are accurate and complete." in text
    assert "2026-09-01 15:00" in text  # signed at 13:00 UTC, on the site's clock
    assert "Appendix: audit trail" in text
    # PDF/A-3b, said in the XMP metadata.
    xmp = PdfReader(io.BytesIO(data)).xmp_metadata
    assert xmp is not None
    packet = xmp.stream.get_data().decode()
    assert 'pdfaid:part="3"' in packet and 'pdfaid:conformance="B"' in packet
    # The same casebook as of the same instant is the same bytes.
    again = casebook_pdf(
        user=team.investigator, participant=participant, as_of=later(5), now=later(6)
    )
    assert again == data


@pytest.mark.django_db
def test_the_site_archive_is_the_investigators_alone(
    world: World, settings: Any, tmp_path: Path
) -> None:
    settings.EXPORTS_DIR = str(tmp_path)
    team = world.team
    # Another site's data are not locked: its investigator is told so.
    with pytest.raises(InvalidTransitionError, match="not locked"):
        site_archive_request(actor=world.other_investigator, site=team.other_site, now=later(6))
    with pytest.raises(PermissionDeniedError):
        site_archive_request(actor=team.coordinator, site=team.site, now=later(6))

    archive = site_archive_request(
        actor=team.investigator, site=team.site, now=later(6), enqueue=False
    )
    assert archive.as_of == later(4)
    done = site_archive_run(archive_id=archive.pk)
    assert done is not None and done.status == "done", done and done.error
    assert (done.participants_done, done.participants_total, done.percent) == (1, 1, 100)
    assert site_archive_run(archive_id=archive.pk) is None
    folder = tmp_path / done.files_dir
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["as_of"] == "2026-09-01T14:00:00+00:00"
    [entry] = manifest["files"]
    assert entry["participant"] == world.participant.identifier
    assert hashlib.sha256((folder / entry["name"]).read_bytes()).hexdigest() == entry["sha256"]

    url = f"/archive/{archive.pk}/download/"
    response = _client(team.investigator).get(url)
    assert response.status_code == 200
    with zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))) as zipped:
        names = zipped.namelist()
        assert any(n.endswith("/manifest.json") for n in names)
        assert any(n.endswith(entry["name"]) for n in names)
    for user, status in (
        (world.other_investigator, 404),
        (team.monitor, 403),
        (team.coordinator, 403),
        (world.data_manager, 403),
    ):
        assert _client(user).get(url).status_code == status, user.username
        assert _client(user).get(f"/archive/{archive.pk}/row/").status_code == status
    page = _client(team.investigator).get("/archive/")
    assert page.status_code == 200 and b"site-archive-download" not in page.content
    assert f"/archive/{archive.pk}/download/".encode() in page.content


@pytest.mark.django_db
def test_casebook_pdf_and_annotated_crf_pages(world: World) -> None:
    team, participant = world.team, world.participant
    url = f"/archive/participants/{participant.pk}/casebook.pdf"
    response = _client(team.monitor).get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert _client(team.other_coordinator).get(url).status_code == 404

    page = _client(world.data_manager).get("/archive/crf/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "LB.LBORRES" in html and "not submitted" in html and "<code>dna</code>" in html
    pdf = _client(world.data_manager).get("/archive/crf.pdf")
    assert pdf.status_code == 200
    text = _text(b"".join([pdf.content]))
    assert "Annotated CRF of MSVLE" in text and "AETERM" in text
    assert _client(team.coordinator).get("/archive/crf/").status_code == 403


@pytest.mark.django_db
def test_an_archive_left_running_by_a_lost_worker_is_failed_by_the_sweep(
    world: World, settings: Any, tmp_path: Path
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from archive.models import SiteArchive
    from archive.services import STALE_MESSAGE, site_archives_fail_stale
    from archive.tasks import HARD_TIME_LIMIT, fail_stale_site_archives
    from ecrf.celery import app

    settings.EXPORTS_DIR = str(tmp_path)
    team = world.team
    stale, fresh = (
        site_archive_request(actor=team.investigator, site=team.site, now=later(6), enqueue=False)
        for _ in range(2)
    )
    limit = timedelta(hours=4)
    SiteArchive.objects.filter(pk=stale.pk).update(status="running", started_at=later(6))
    SiteArchive.objects.filter(pk=fresh.pk).update(
        status="running", started_at=later(6) + timedelta(hours=1)
    )
    staging = tmp_path / team.trial.code / "site-archives" / f".{stale.pk}-0a1b2c3d.partial"
    staging.mkdir(parents=True)
    (staging / "VA01-001.pdf").write_bytes(b"%PDF")

    now = later(6) + limit + timedelta(minutes=30)
    assert site_archives_fail_stale(now=now, running_for=limit) == 1
    stale.refresh_from_db()
    assert (stale.status, stale.error, stale.finished_at) == ("failed", STALE_MESSAGE, now)
    assert stale.history.first().history_change_reason == "Archive interrupted"
    assert not staging.exists()
    assert SiteArchive.objects.get(pk=fresh.pk).status == "running"
    # Nothing runs it again, and a second sweep changes nothing.
    assert site_archive_run(archive_id=stale.pk) is None
    assert site_archives_fail_stale(now=now, running_for=limit) == 0

    # Beat sends the sweep, which waits for the task's hard limit and a minute's grace.
    app.loader.import_default_modules()
    assert app.conf.beat_schedule["fail-stale-site-archives"]["task"] == (
        fail_stale_site_archives.name
    )
    assert fail_stale_site_archives.name in app.tasks
    started = timezone.now() - timedelta(seconds=HARD_TIME_LIMIT)
    SiteArchive.objects.filter(pk=fresh.pk).update(started_at=started)
    assert fail_stale_site_archives() == 0
    SiteArchive.objects.filter(pk=fresh.pk).update(started_at=started - timedelta(minutes=2))
    assert fail_stale_site_archives() == 1
