"""API tokens: created after the password, expiring, listed to their owner, revoked for good."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import ApiToken
from accounts.services import token_create
from tests.accounts.signing_in import sign_in

T0 = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)


@pytest.fixture
def api() -> APIClient:
    return APIClient()


def _create(api: APIClient, **body: object):
    return api.post("/api/v1/tokens/", body, format="json")


def test_wrong_or_missing_password_creates_nothing(api, personas) -> None:
    api.force_login(personas.coordinator_a)
    wrong = _create(api, name="script", password="not my password")
    assert wrong.status_code == 400
    assert wrong.json()["error"]["message"] == "The password is not correct."
    assert wrong.json()["error"]["fields"]["password"] == ["The password is not correct."]
    missing = _create(api, name="script")
    assert missing.status_code == 400
    assert "password" in missing.json()["error"]["fields"]
    assert not ApiToken.objects.exists()
    assert _create(api, name="script", password=personas.password).status_code == 201


def test_wrong_passwords_count_towards_the_lockout(api, personas, settings, client) -> None:
    api.force_login(personas.coordinator_a)
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _create(api, name="x", password="guess").status_code == 400
    # The last allowed failure locks the account, which ends this very session.
    assert _create(api, name="x", password="guess").status_code == 429
    assert api.get("/api/v1/me/").status_code == 401
    assert sign_in(client, "coordinator_a", personas.password).status_code == 429
    assert not ApiToken.objects.exists()


def test_a_locked_account_cannot_create_a_token_even_with_the_password(
    api, personas, settings, client
) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "coordinator_a", "guess")
    with pytest.raises(Exception, match="password is not correct"):
        token_create(user=personas.coordinator_a, name="x", password=personas.password, now=T0)
    assert not ApiToken.objects.exists()


def test_expiry_defaults_to_the_maximum_and_may_be_shorter_never_longer(
    api, personas, settings
) -> None:
    settings.API_TOKEN_DAYS = 30
    api.force_login(personas.coordinator_a)
    with time_machine.travel(T0, tick=False):
        default = _create(api, name="default", password=personas.password).json()
        short = _create(api, name="short", password=personas.password, expires_in_days=7).json()
        too_long = _create(api, name="long", password=personas.password, expires_in_days=31)
        zero = _create(api, name="zero", password=personas.password, expires_in_days=0)
    assert datetime.fromisoformat(default["expires_at"]) == T0 + timedelta(days=30)
    assert datetime.fromisoformat(short["expires_at"]) == T0 + timedelta(days=7)
    assert too_long.status_code == 400
    assert too_long.json()["error"]["message"] == "A token lasts from 1 to 30 days."
    assert zero.status_code == 400
    assert "expires_in_days" in zero.json()["error"]["fields"]
    assert ApiToken.objects.count() == 2


def test_a_token_works_until_the_instant_it_expires(api, personas) -> None:
    with time_machine.travel(T0, tick=False):
        _, key = token_create(
            user=personas.monitor_a,
            name="script",
            password=personas.password,
            expires_in_days=10,
            now=T0,
        )
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    with time_machine.travel(T0 + timedelta(days=10) - timedelta(seconds=1), tick=False):
        assert api.get("/api/v1/me/").status_code == 200
    with time_machine.travel(T0 + timedelta(days=10), tick=False):
        expired = api.get("/api/v1/me/")
        assert expired.status_code == 401
        assert expired.json()["error"]["message"] == (
            "This token has expired; create a new one while signed in."
        )
        listed = APIClient()
        listed.force_login(personas.monitor_a)
        (row,) = listed.get("/api/v1/tokens/").json()
        assert (row["active"], row["revoked_at"]) == (False, None)


def test_tokens_are_listed_to_their_owner_only_with_expiry_and_state(api, personas) -> None:
    token_create(user=personas.monitor_a, name="mine", password=personas.password, now=T0)
    token_create(user=personas.coordinator_a, name="theirs", password=personas.password, now=T0)
    api.force_login(personas.monitor_a)
    rows = api.get("/api/v1/tokens/").json()
    assert [row["name"] for row in rows] == ["mine"]
    assert set(rows[0]) == {
        "id",
        "name",
        "prefix",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
        "active",
    }


def test_revoked_for_good_and_recorded(api, personas) -> None:
    api.force_login(personas.monitor_a)
    created = _create(api, name="script", password=personas.password).json()
    first = api.post(f"/api/v1/tokens/{created['id']}/revoke/").json()
    again = api.post(f"/api/v1/tokens/{created['id']}/revoke/").json()
    assert first["active"] is False
    assert again["revoked_at"] == first["revoked_at"]
    token = ApiToken.objects.get(pk=created["id"])
    record = token.history.latest()
    assert (record.history_user, record.history_change_reason) == (
        personas.monitor_a,
        "Revoked by its owner",
    )
    api.logout()
    api.credentials(HTTP_AUTHORIZATION=f"Token {created['key']}")
    assert api.get("/api/v1/me/").status_code == 401


def test_a_token_cannot_create_another_token(api, personas) -> None:
    _, key = token_create(
        user=personas.monitor_a, name="s", password=personas.password, now=timezone.now()
    )
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    response = _create(api, name="longer life", password=personas.password)
    assert response.status_code == 403
    assert "signed in" in response.json()["error"]["message"]
    assert ApiToken.objects.count() == 1


# The page -----------------------------------------------------------------------------------


def test_page_creates_a_token_after_the_password_and_shows_its_key_once(client, personas) -> None:
    client.force_login(personas.statistician)
    refused = client.post("/accounts/tokens/", {"name": "analysis", "password": "wrong one"})
    assert refused.status_code == 400
    assert "The password is not correct." in refused.content.decode()
    assert not ApiToken.objects.exists()

    created = client.post("/accounts/tokens/", {"name": "analysis", "password": personas.password})
    assert created.status_code == 200
    key = created.context["created"]["key"]
    assert key in created.content.decode()
    token = ApiToken.objects.get()
    assert token.user == personas.statistician
    page = client.get("/accounts/tokens/").content.decode()
    assert "analysis" in page and token.prefix in page
    assert key not in page
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get("/api/v1/me/").json()["username"] == "statistician"


def test_page_revokes_only_the_owners_tokens(client, personas) -> None:
    token, _ = token_create(
        user=personas.statistician, name="s", password=personas.password, now=T0
    )
    client.force_login(personas.coordinator_b)
    assert client.post(f"/accounts/tokens/{token.pk}/revoke/").status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None
    client.force_login(personas.statistician)
    response = client.post(f"/accounts/tokens/{token.pk}/revoke/")
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_page_refuses_a_lifetime_over_the_maximum(client, personas, settings) -> None:
    settings.API_TOKEN_DAYS = 5
    client.force_login(personas.statistician)
    response = client.post(
        "/accounts/tokens/",
        {"name": "analysis", "password": personas.password, "expires_in_days": "6"},
    )
    assert response.status_code == 400
    assert "A token lasts from 1 to 5 days." in response.content.decode()
    assert not ApiToken.objects.exists()
