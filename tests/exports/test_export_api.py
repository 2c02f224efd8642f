"""The exports API with token authentication: request, poll and download exports, for the right
and the wrong users; DSMB releases; the OpenAPI documentation of the endpoints."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import User
from accounts.services import token_create
from exports.models import Export, ExportStatus
from exports.services import export_run
from tests.exports.job_fixtures import (
    T1,
    World,
    check_manifest_hashes,
    grant_release,
    lock_trial,
    populate,
    read_zip,
    request,
)
from tests.factories import DEFAULT_PASSWORD, UserFactory
from trials.models import DsmbRelease

EXPORTS = "/api/v1/exports/"
RELEASES = "/api/v1/exports/releases/"


def with_token(user: User) -> APIClient:
    """A client that authenticates as a script does: `Authorization: Token <key>`."""
    _, key = token_create(
        user=user, name="analysis script", password=DEFAULT_PASSWORD, now=timezone.now()
    )
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return api


def post_export(user: User, world: World, **body: Any) -> Any:
    return with_token(user).post(
        EXPORTS, {"trial": world.trial.code, "format": "csv", **body}, format="json"
    )


def test_statistician_requests_with_a_token_and_polls(
    world: World, django_capture_on_commit_callbacks
) -> None:
    api = with_token(world.team.statistician)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        reply = api.post(
            EXPORTS,
            {"trial": world.trial.code, "format": "xpt", "as_of": "2026-03-05T11:00:00+01:00"},
            format="json",
        )
    assert reply.status_code == 202, reply.json()
    assert len(callbacks) == 1, "the job is enqueued after commit"
    body = reply.json()
    assert body["trial"] == world.trial.code
    assert body["format"] == "xpt"
    assert body["blinded"] is True
    assert body["as_of"].startswith("2026-03-05T10:00:00")
    assert (body["status"], body["percent"], body["units_done"]) == ("queued", 0, 0)
    assert body["manifest"] is None and body["download_url"] is None
    assert body["requested_by"] == world.team.statistician.username
    assert body["protocol_version"]["number"] == 1
    detail = api.get(f"{EXPORTS}{body['id']}/")
    assert detail.status_code == 200
    assert detail.json()["status"] == "queued"
    Export.objects.filter(pk=body["id"]).update(
        status=ExportStatus.RUNNING, units_total=200, units_done=50
    )
    running = api.get(f"{EXPORTS}{body['id']}/").json()
    assert (running["status"], running["percent"], running["units_done"]) == ("running", 25, 50)
    assert running["units_total"] == 200


@pytest.mark.parametrize("who", ["coordinator", "monitor", "investigator", "trial_admin"])
def test_other_roles_are_refused(world: World, who: str) -> None:
    reply = post_export(getattr(world.team, who), world)
    assert reply.status_code == 403
    assert reply.json()["error"]["code"] == "permission_denied"
    assert "Only a statistician" in reply.json()["error"]["message"]
    assert not Export.objects.exists()


def test_outsider_finds_no_such_trial(world: World) -> None:
    reply = post_export(world.outsider, world)
    assert reply.status_code == 404
    assert reply.json()["error"]["message"] == "No such trial."


def test_anonymous_and_bad_token_are_refused(world: World) -> None:
    assert APIClient().get(EXPORTS).status_code in (401, 403)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert api.post(EXPORTS, {"trial": world.trial.code, "format": "csv"}).status_code == 401


def test_blinded_statistician_cannot_request_unblinded(world: World) -> None:
    lock_trial(world)
    reply = post_export(world.team.statistician, world, unblinded=True)
    assert reply.status_code == 403
    assert "Only an unblinded statistician" in reply.json()["error"]["message"]


def test_unblinded_refused_before_lock_then_allowed_after(world: World) -> None:
    statistician = world.team.unblinded_statistician
    refused = post_export(statistician, world, unblinded=True)
    assert refused.status_code == 403
    assert "locked" in refused.json()["error"]["message"]
    lock_trial(world)
    allowed = post_export(statistician, world, unblinded=True)
    assert allowed.status_code == 202
    assert allowed.json()["blinded"] is False


def test_invalid_input_names_the_field(world: World) -> None:
    future = post_export(world.team.statistician, world, as_of="2099-01-01T00:00:00Z")
    assert future.status_code == 400
    assert "as_of" in future.json()["error"]["fields"]
    before = post_export(world.team.statistician, world, as_of="2020-01-01T00:00:00Z")
    assert before.status_code == 400
    assert "did not exist yet" in before.json()["error"]["message"]
    bad = post_export(world.team.statistician, world, format="sas7bdat")
    assert bad.status_code == 400
    assert "format" in bad.json()["error"]["fields"]


def test_blinded_users_never_see_unblinded_exports(world: World) -> None:
    lock_trial(world)
    blinded = request(world, world.team.statistician)
    unblinded = request(world, world.team.unblinded_statistician, unblinded=True)
    as_blinded = with_token(world.team.statistician)
    listed = as_blinded.get(EXPORTS).json()
    assert [row["id"] for row in listed["results"]] == [blinded.pk]
    assert as_blinded.get(f"{EXPORTS}{unblinded.pk}/").status_code == 404
    assert as_blinded.get(f"{EXPORTS}{unblinded.pk}/download/").status_code == 404
    as_unblinded = with_token(world.team.unblinded_statistician)
    listed = as_unblinded.get(EXPORTS, {"trial": world.trial.code}).json()
    assert [row["id"] for row in listed["results"]] == [unblinded.pk, blinded.pk]
    assert with_token(world.team.coordinator).get(EXPORTS).json()["count"] == 0


def test_list_filters_by_status(world: World) -> None:
    first = request(world)
    request(world)
    Export.objects.filter(pk=first.pk).update(status=ExportStatus.FAILED)
    api = with_token(world.team.statistician)
    assert [row["id"] for row in api.get(EXPORTS, {"status": "failed"}).json()["results"]] == [
        first.pk
    ]
    assert api.get(EXPORTS, {"status": "lost"}).status_code == 400


def test_list_query_count_does_not_grow_with_rows(
    world: World, django_assert_num_queries: Any
) -> None:
    for _ in range(5):
        request(world)
    api = with_token(world.team.statistician)
    # token, token last-used update, memberships, count, page (trial, version, user joined)
    with django_assert_num_queries(5):
        reply = api.get(EXPORTS)
    assert reply.json()["count"] == 5


def test_download_before_done_is_a_conflict(world: World) -> None:
    export = request(world)
    reply = with_token(world.team.statistician).get(f"{EXPORTS}{export.pk}/download/")
    assert reply.status_code == 409
    assert "no files to download" in reply.json()["error"]["message"]


def test_download_streams_files_and_manifest(world: World) -> None:
    populate(world)
    export = request(world, fmt="csv", as_of=T1)
    export_run(export_id=export.pk)
    api = with_token(world.team.statistician)
    detail = api.get(f"{EXPORTS}{export.pk}/").json()
    assert detail["status"] == "done" and detail["percent"] == 100
    assert detail["download_url"] == f"http://testserver{EXPORTS}{export.pk}/download/"
    reply = api.get(detail["download_url"])
    assert reply.status_code == 200
    assert reply["Content-Type"] == "application/zip"
    assert reply.streaming
    assert f'-csv-20260305T100000Z-blinded-{export.pk}.zip"' in reply["Content-Disposition"]
    data = b"".join(reply.streaming_content)
    manifest = check_manifest_hashes(read_zip(data))
    assert manifest == detail["manifest"]
    assert manifest["as_of"] == "2026-03-05T10:00:00+00:00"
    assert manifest["blinded"] is True
    # The same export downloads as the same bytes.
    again = api.get(detail["download_url"])
    assert b"".join(again.streaming_content) == data
    # Another blinded statistician of the trial may download it; site staff may not.
    assert (
        with_token(world.team.unblinded_statistician).get(detail["download_url"]).status_code == 200
    )
    assert with_token(world.team.coordinator).get(detail["download_url"]).status_code == 404


def test_unblinded_download_needs_the_right_at_download_time(world: World) -> None:
    populate(world)
    release = grant_release(world)
    export = request(world, world.team.unblinded_statistician, unblinded=True)
    export_run(export_id=export.pk)
    api = with_token(world.team.unblinded_statistician)
    url = f"{EXPORTS}{export.pk}/download/"
    reply = api.get(url)
    assert reply.status_code == 200
    assert read_zip(b"".join(reply.streaming_content))["manifest.json"]
    from trials.services import dsmb_release_revoke

    dsmb_release_revoke(
        actor=world.team.trial_admin, release=release, reason="Meeting over", now=timezone.now()
    )
    refused = api.get(url)
    assert refused.status_code == 403
    assert "unblinded" in refused.json()["error"]["message"]


# DSMB releases -----------------------------------------------------------------------------


def test_trial_admin_grants_and_revokes_a_release(world: World) -> None:
    admin = with_token(world.team.trial_admin)
    granted = admin.post(
        RELEASES,
        {
            "trial": world.trial.code,
            "recipient": world.team.unblinded_statistician.username,
            "reason": "DSMB meeting 1",
            "expires_at": "2099-01-01T00:00:00Z",
        },
        format="json",
    )
    assert granted.status_code == 201, granted.json()
    body = granted.json()
    assert (body["recipient"], body["granted_by"], body["active"]) == (
        world.team.unblinded_statistician.username,
        world.team.trial_admin.username,
        True,
    )
    # The recipient sees the release and may now request an unblinded export.
    mine = with_token(world.team.unblinded_statistician).get(RELEASES).json()
    assert [row["id"] for row in mine["results"]] == [body["id"]]
    assert post_export(world.team.unblinded_statistician, world, unblinded=True).status_code == 202
    # A blinded statistician sees none.
    assert with_token(world.team.statistician).get(RELEASES).json()["count"] == 0
    revoked = admin.post(f"{RELEASES}{body['id']}/revoke/", {"reason": "Done"}, format="json")
    assert revoked.status_code == 200
    assert revoked.json()["active"] is False
    assert post_export(world.team.unblinded_statistician, world, unblinded=True).status_code == 403


@pytest.mark.parametrize("who", ["unblinded_statistician", "statistician", "monitor"])
def test_others_cannot_grant_a_release(world: World, who: str) -> None:
    reply = with_token(getattr(world.team, who)).post(
        RELEASES,
        {
            "trial": world.trial.code,
            "recipient": world.team.unblinded_statistician.username,
            "reason": "Please",
        },
        format="json",
    )
    assert reply.status_code == 403
    assert not DsmbRelease.objects.exists()


def test_recipient_cannot_revoke(world: World) -> None:
    release = grant_release(world)
    reply = with_token(world.team.unblinded_statistician).post(
        f"{RELEASES}{release.pk}/revoke/", {"reason": "Not needed"}, format="json"
    )
    assert reply.status_code == 403


# Documentation ------------------------------------------------------------------------------


def test_openapi_documents_the_endpoints_with_curl_and_python_examples(client, db) -> None:
    client.force_login(UserFactory())  # the schema is for signed-in users
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    paths = schema["paths"]
    for path in (
        EXPORTS,
        f"{EXPORTS}{{export_id}}/",
        f"{EXPORTS}{{export_id}}/download/",
        RELEASES,
        f"{RELEASES}{{release_id}}/revoke/",
    ):
        assert path in paths, path
    request_doc = paths[EXPORTS]["post"]["description"]
    assert "curl -s -X POST" in request_doc
    assert "import os, time, requests" in request_doc
    assert "Authorization: Token" in request_doc
    download = paths[f"{EXPORTS}{{export_id}}/download/"]["get"]
    assert "application/zip" in download["responses"]["200"]["content"]
    token = schema["components"]["securitySchemes"]["tokenAuth"]
    assert (token["in"], token["name"]) == ("header", "Authorization")
    assert {"tokenAuth": []} in paths[EXPORTS]["post"]["security"]
