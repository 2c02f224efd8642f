"""The API shell: token and session authentication, error format, OpenAPI schema and docs."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient


@pytest.fixture
def api() -> APIClient:
    return APIClient()


def test_anonymous_request_is_refused_with_json_error(api, db) -> None:
    response = api.get("/api/v1/me/")
    assert response.status_code in (401, 403)
    assert response.json()["error"]["message"]


def test_token_lifecycle_create_use_revoke(api, personas) -> None:
    api.force_login(personas.coordinator_a)
    created = api.post(
        "/api/v1/tokens/",
        {"name": "laptop script", "password": personas.password},
        format="json",
    )
    assert created.status_code == 201
    key = created.json()["key"]
    token_id = created.json()["id"]
    api.logout()

    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    me = api.get("/api/v1/me/")
    assert me.status_code == 200
    assert me.json()["username"] == "coordinator_a"
    assert me.json()["memberships"] == [{"trial": "DEMO", "site": "A01", "role": "coordinator"}]
    listed = api.get("/api/v1/tokens/").json()
    assert listed[0]["last_used_at"] is not None
    assert "key" not in listed[0]

    revoked = api.post(f"/api/v1/tokens/{token_id}/revoke/")
    assert revoked.status_code == 200
    assert api.get("/api/v1/me/").status_code == 401


def test_cannot_revoke_someone_elses_token(api, personas) -> None:
    api.force_login(personas.coordinator_a)
    token_id = api.post(
        "/api/v1/tokens/", {"name": "mine", "password": personas.password}, format="json"
    ).json()["id"]
    api.force_login(personas.coordinator_b)
    response = api.post(f"/api/v1/tokens/{token_id}/revoke/")
    assert response.status_code == 404
    assert response.json() == {
        "error": {"code": "not_found", "message": "No such token.", "fields": {}}
    }


def test_validation_error_names_the_field(api, personas) -> None:
    api.force_login(personas.coordinator_a)
    response = api.post("/api/v1/tokens/", {"name": ""}, format="json")
    assert response.status_code == 400
    body = response.json()["error"]
    assert body["code"] == "invalid"
    assert "name" in body["fields"]


def test_bogus_token_is_refused(api, db) -> None:
    api.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    response = api.get("/api/v1/me/")
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "Invalid or revoked token."


def test_openapi_schema_and_docs(client, personas) -> None:
    # Any signed-in account reads them, with or without a membership.
    for user in (personas.coordinator_a, personas.outsider):
        client.force_login(user)
        schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
        assert schema.status_code == 200
        document = schema.json()
        assert document["openapi"].startswith("3.")
        assert "/api/v1/tokens/" in document["paths"]
        docs = client.get("/api/docs/")
        assert docs.status_code == 200
        assert b"swagger" in docs.content.lower()
        # The start-up script is a file of its own, not inline (the page's CSP allows none).
        page = docs.content.decode()
        assert '<script src="/api/docs/?script=">' in page
        assert "<script>" not in page
        script = client.get("/api/docs/?script=")
        assert script.status_code == 200
        assert script["Content-Type"].startswith("application/javascript")
        assert "/api/schema/" in script.content.decode()


def test_openapi_schema_and_docs_need_a_sign_in(client, db) -> None:
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 401
    assert schema.json()["error"]["code"] == "not_authenticated"
    for url in ("/api/docs/", "/api/docs/?script="):
        docs = client.get(url)
        assert docs.status_code == 302
        assert docs["Location"].startswith("/accounts/login/?next=/api/docs/")
    # An account that cannot sign in any more is refused as well.
    from tests.factories import UserFactory

    client.force_login(UserFactory(is_active=False))
    assert client.get("/api/schema/").status_code == 401
    assert client.get("/api/docs/").status_code == 302


def test_openapi_schema_and_docs_can_be_made_public(client, db, settings) -> None:
    settings.API_DOCS_PUBLIC = True
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    assert "/api/v1/tokens/" in schema.json()["paths"]
    assert client.get("/api/docs/").status_code == 200
    assert client.get("/api/docs/?script=").status_code == 200
