"""The OpenAPI schema documents the one error body: 400, 401, 403 and 404 on every operation,
409 and 423 on every write; the errors the API sends match it."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.openapi import assert_conforms, openapi

METHODS = ("get", "post", "put", "patch", "delete")


def operations() -> list[tuple[str, str, dict]]:
    return [
        (path, method, operation)
        for path, item in openapi()["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def test_every_operation_documents_the_error_answers(db) -> None:
    error = {"$ref": "#/components/schemas/ErrorOutput"}
    found = operations()
    assert len(found) > 100
    for path, method, operation in found:
        expected = {"400", "401", "403", "404"}
        if method != "get":
            expected |= {"409", "423"}
        responses = operation["responses"]
        assert expected <= set(responses), (path, method)
        for code in expected:
            assert responses[code]["content"]["application/json"]["schema"] == error
            assert responses[code]["description"]
        # The success answer is still there.
        assert any(code.startswith("2") for code in responses), (path, method)
    body = openapi()["components"]["schemas"]["ErrorBodyOutput"]
    assert set(body["required"]) == {"code", "message", "fields"}


@pytest.mark.parametrize(
    ("who", "method", "url", "data", "template", "status"),
    [
        (None, "get", "/api/v1/trials/", None, "/api/v1/trials/", 401),
        ("coordinator_a", "get", "/api/v1/trials/NOPE/", None, "/api/v1/trials/{code}/", 404),
        ("monitor_a", "post", "/api/v1/queries/", {}, "/api/v1/queries/", 400),
        ("coordinator_a", "get", "/api/v1/trials/?limit=abc", None, "/api/v1/trials/", 400),
        (
            "coordinator_a",
            "post",
            "/api/v1/locks/",
            {"level": "trial", "trial": "DEMO", "reason": "Cut-off"},
            "/api/v1/locks/",
            403,
        ),
    ],
)
def test_the_errors_sent_match_the_schema(personas, who, method, url, data, template, status):
    api = APIClient()
    if who is not None:
        api.force_login(getattr(personas, who))
    response = getattr(api, method)(url, data, format="json")
    assert response.status_code == status, response.content
    assert_conforms(response, method, template)


def test_the_schema_and_docs_views_are_not_operations(db) -> None:
    assert not {"/api/schema/", "/api/docs/"} & set(openapi()["paths"])
    assert all(path.startswith("/api/v1/") for path in openapi()["paths"])


@pytest.mark.parametrize(
    ("url", "template"),
    [
        ("/api/v1/participants/null/", "/api/v1/participants/{participant_id}/"),
        ("/api/v1/participants/1.5/visits/", "/api/v1/participants/{participant_id}/visits/"),
        ("/api/v1/alerts/%C2%A7/", "/api/v1/alerts/{alert_id}/"),
        ("/api/v1/queries/-3/", "/api/v1/queries/{query_id}/"),
    ],
)
def test_an_address_outside_the_api_is_a_json_404(personas, url, template) -> None:
    api = APIClient()
    api.force_login(personas.coordinator_a)
    response = api.get(url)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert_conforms(response, "GET", template)


def test_an_unknown_page_is_still_a_page(client, personas) -> None:
    client.force_login(personas.coordinator_a)
    response = client.get("/trials/participants/null/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_a_server_error_in_the_api_is_a_json_body(personas, monkeypatch) -> None:
    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr("trials.api.protocol.trial_list", broken)
    api = APIClient(raise_request_exception=False)
    api.force_login(personas.coordinator_a)
    response = api.get("/api/v1/trials/")
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "server_error"
    assert "a bug" not in response.content.decode()
