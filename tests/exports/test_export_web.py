"""The statisticians' exports page: who sees it and its nav link, requesting an export, the row
polled while it runs, the manifest and the download; blinded users never meet unblinded ones."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from accounts.models import User
from exports.models import Export, ExportStatus
from exports.services import export_run
from tests.exports.job_fixtures import (
    T1,
    World,
    check_manifest_hashes,
    lock_trial,
    populate,
    read_zip,
    request,
)

PAGE = "/exports/"
NAV_LINK = f'<a href="{PAGE}">Exports</a>'


def signed_in(client: Client, user: User) -> Client:
    client.force_login(user)
    return client


def text(response: Any) -> str:
    return response.content.decode()


def row(page: str, export: Export) -> str:
    found = re.search(rf'<tr id="export-{export.pk}"(.*?)\n</tr>', page, re.S)
    assert found, f"no row for export {export.pk}"
    return found.group(0)


def test_statistician_sees_the_page_without_the_unblinded_choice(
    client: Client, world: World
) -> None:
    page = signed_in(client, world.team.statistician).get(PAGE)
    assert page.status_code == 200
    html = text(page)
    assert NAV_LINK in html
    assert 'name="format"' in html and 'name="as_of"' in html
    assert 'name="unblinded"' not in html
    assert "No exports yet." in html


def test_unblinded_statistician_sees_the_choice_and_whether_it_is_possible(
    client: Client, world: World
) -> None:
    signed_in(client, world.team.unblinded_statistician)
    html = text(client.get(PAGE))
    assert 'name="unblinded"' in html
    assert "Unblinded exports need the trial to be locked" in html
    lock_trial(world)
    assert "The trial is locked: unblinded exports are possible." in text(client.get(PAGE))


def test_the_page_speaks_spanish_to_a_spanish_statistician(client: Client, world: World) -> None:
    statistician = world.team.unblinded_statistician
    statistician.language = "es"
    statistician.save(update_fields=["language"])
    html = text(signed_in(client, statistician).get(PAGE))
    assert "Solicitar una exportación" in html and "Aún no hay exportaciones." in html
    assert "Exportación desenmascarada (revela la asignación)" in html
    assert "Request an export" not in html and "No exports yet." not in html


@pytest.mark.parametrize("who", ["coordinator", "monitor", "investigator", "trial_admin"])
def test_other_roles_have_no_link_and_are_refused(client: Client, world: World, who: str) -> None:
    signed_in(client, getattr(world.team, who))
    home = text(client.get("/"))
    assert NAV_LINK not in home
    assert client.get(PAGE).status_code == 403
    assert client.post(f"{PAGE}request/", {"format": "csv"}).status_code == 403
    assert not Export.objects.exists()


def test_someone_without_a_role_is_told_so(client: Client, world: World) -> None:
    page = signed_in(client, world.outsider).get(PAGE)
    assert "You have no role in any trial yet." in text(page)
    assert client.post(f"{PAGE}request/", {"format": "csv"}).status_code == 403


def test_anonymous_is_sent_to_sign_in(client: Client, world: World) -> None:
    reply = client.get(PAGE)
    assert reply.status_code == 302
    assert "/accounts/login/" in reply["Location"]


def test_statistician_requests_an_export_and_its_row_polls(
    client: Client, world: World, django_capture_on_commit_callbacks
) -> None:
    signed_in(client, world.team.statistician)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        reply = client.post(
            f"{PAGE}request/", {"format": "odm", "as_of": "2026-03-05T10:00"}, follow=True
        )
    assert len(callbacks) == 1
    export = Export.objects.get()
    assert (export.format, export.as_of, export.blinded) == ("odm", T1, True)
    html = text(reply)
    assert f"Export {export.pk} is queued" in html
    queued = row(html, export)
    assert f'hx-get="/exports/{export.pk}/row/"' in queued
    assert 'hx-trigger="every 2s"' in queued
    Export.objects.filter(pk=export.pk).update(
        status=ExportStatus.RUNNING, units_total=400, units_done=100
    )
    polled = text(client.get(f"/exports/{export.pk}/row/"))
    assert 'value="25"' in polled
    assert "25% · 100 of 400 rows" in polled
    assert "every 2s" in polled
    Export.objects.filter(pk=export.pk).update(status=ExportStatus.FAILED, error="Disk full.")
    failed = text(client.get(f"/exports/{export.pk}/row/"))
    assert "hx-trigger" not in failed, "a finished export is no longer polled"
    assert "Disk full." in failed


def test_a_blinded_statistician_posting_unblinded_gets_a_blinded_export(
    client: Client, world: World
) -> None:
    lock_trial(world)
    signed_in(client, world.team.statistician)
    client.post(f"{PAGE}request/", {"format": "csv", "unblinded": "on"})
    assert Export.objects.get().blinded is True


def test_refusals_are_shown_on_the_page(client: Client, world: World) -> None:
    signed_in(client, world.team.unblinded_statistician)
    reply = client.post(f"{PAGE}request/", {"format": "csv", "unblinded": "on"})
    assert reply.status_code == 403
    assert "only after the trial is locked" in text(reply)
    assert 'name="format"' in text(reply), "the form is shown again"
    future = client.post(f"{PAGE}request/", {"format": "csv", "as_of": "2099-01-01T00:00"})
    assert future.status_code == 400
    assert "lies in the future" in text(future)
    bad = client.post(f"{PAGE}request/", {"format": "sav"})
    assert bad.status_code == 400
    assert "Please correct the fields shown." in text(bad)
    assert not Export.objects.exists()
    lock_trial(world)
    client.post(f"{PAGE}request/", {"format": "csv", "unblinded": "on"})
    assert Export.objects.get().blinded is False


def test_blinded_statistician_never_sees_an_unblinded_export(client: Client, world: World) -> None:
    lock_trial(world)
    blinded = request(world)
    unblinded = request(world, world.team.unblinded_statistician, unblinded=True)
    signed_in(client, world.team.statistician)
    html = text(client.get(PAGE))
    assert f'id="export-{blinded.pk}"' in html
    assert f'id="export-{unblinded.pk}"' not in html
    assert client.get(f"/exports/{unblinded.pk}/row/").status_code == 404
    assert client.get(f"/exports/{unblinded.pk}/download/").status_code == 404
    signed_in(client, world.team.unblinded_statistician)
    html = text(client.get(PAGE))
    assert f'id="export-{unblinded.pk}"' in html and f'id="export-{blinded.pk}"' in html


def test_done_export_shows_manifest_and_downloads(client: Client, world: World) -> None:
    populate(world)
    export = request(world, fmt="csv", as_of=T1)
    done = export_run(export_id=export.pk)
    assert done is not None and done.status == ExportStatus.DONE
    signed_in(client, world.team.statistician)
    done_row = row(text(client.get(PAGE)), done)
    assert "hx-trigger" not in done_row
    assert f'href="/exports/{done.pk}/download/"' in done_row
    for item in done.manifest["files"]:
        assert item["sha256"] in done_row
        assert item["name"] in done_row
    reply = client.get(f"/exports/{done.pk}/download/")
    assert reply.status_code == 200
    assert reply["Content-Type"] == "application/zip"
    manifest = check_manifest_hashes(read_zip(b"".join(reply.streaming_content)))
    assert manifest == done.manifest
    signed_in(client, world.team.coordinator)
    assert client.get(f"/exports/{done.pk}/download/").status_code == 404


def test_page_queries_do_not_grow_with_exports(client: Client, world: World) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    signed_in(client, world.team.statistician)
    request(world)
    with CaptureQueriesContext(connection) as one:
        client.get(PAGE)
    for _ in range(4):
        request(world)
    with CaptureQueriesContext(connection) as five:
        page = client.get(PAGE)
    assert text(page).count('<tr id="export-') == 5
    assert len(five) == len(one)
