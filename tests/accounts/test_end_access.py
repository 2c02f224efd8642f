"""Deactivating or locking an account ends its sessions and revokes its tokens at once."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import ApiToken, User
from accounts.services import token_create, user_deactivate, user_end_access
from ecrf.errors import DomainError, PermissionDeniedError
from tests.accounts.signing_in import sign_in
from tests.factories import UserFactory


def _signed_in(username: str, password: str) -> tuple[Client, APIClient]:
    """A browser session and an API session, both through the sign-in page."""
    web, api = Client(), APIClient()
    assert sign_in(web, username, password).status_code == 302
    assert (
        api.post("/accounts/login/", {"username": username, "password": password}).status_code
        == 302
    )
    return web, api


def _with_token(user: User, password: str) -> APIClient:
    _, key = token_create(user=user, name="script", password=password, now=timezone.now())
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def _signed_out(web: Client, api: APIClient, script: APIClient) -> None:
    page = web.get("/")
    assert page.status_code == 302 and page["Location"].startswith("/accounts/login/")
    assert api.get("/api/v1/me/").status_code == 401
    refused = script.get("/api/v1/me/")
    assert refused.status_code == 401
    assert refused.json()["error"]["message"] == "Invalid or revoked token."


def _still_in(web: Client, api: APIClient, script: APIClient) -> None:
    assert web.get("/").status_code == 200
    assert api.get("/api/v1/me/").status_code == 200
    assert script.get("/api/v1/me/").status_code == 200


@pytest.fixture
def operator(db) -> User:
    return UserFactory(username="operator", is_superuser=True, is_staff=True)


def test_deactivation_ends_sessions_and_tokens_for_good(personas, operator) -> None:
    target = personas.coordinator_a
    web, api = _signed_in("coordinator_a", personas.password)
    script = _with_token(target, personas.password)
    other = (
        *_signed_in("coordinator_b", personas.password),
        _with_token(personas.coordinator_b, personas.password),
    )
    _still_in(web, api, script)

    user_deactivate(actor=operator, user=target, reason="Left the hospital", now=timezone.now())

    _signed_out(web, api, script)
    _still_in(*other)
    token = ApiToken.objects.get(user=target)
    assert token.revoked_at is not None
    record = token.history.latest()
    assert (record.history_user, record.history_change_reason) == (operator, "Left the hospital")
    # Reactivating the account brings back neither the old sessions nor the tokens.
    User.objects.filter(pk=target.pk).update(is_active=True)
    _signed_out(web, api, script)
    assert sign_in(Client(), "coordinator_a", personas.password).status_code == 302


def test_deactivation_takes_a_reason_and_spares_platform_operators(personas, operator) -> None:
    with pytest.raises(DomainError, match="reason"):
        user_deactivate(actor=operator, user=personas.monitor_a, reason=" ", now=timezone.now())
    with pytest.raises(PermissionDeniedError):
        user_deactivate(
            actor=personas.trial_admin, user=operator, reason="Takeover", now=timezone.now()
        )
    operator.refresh_from_db()
    personas.monitor_a.refresh_from_db()
    assert operator.is_active and personas.monitor_a.is_active


def test_deactivating_an_inactive_account_still_ends_its_access(personas, operator) -> None:
    # Deactivated by some other path, which left a token unrevoked.
    script = _with_token(personas.monitor_a, personas.password)
    User.objects.filter(pk=personas.monitor_a.pk).update(is_active=False)
    user_deactivate(actor=operator, user=personas.monitor_a, reason="Tidy up", now=timezone.now())
    assert ApiToken.objects.get(user=personas.monitor_a).revoked_at is not None
    User.objects.filter(pk=personas.monitor_a.pk).update(is_active=True)
    assert script.get("/api/v1/me/").status_code == 401


def test_end_access_keeps_the_copy_of_the_caller_current(personas) -> None:
    user = personas.monitor_a
    before = user.security_stamp
    user_end_access(user=user, now=timezone.now(), reason="Suspected compromise")
    assert user.security_stamp != before
    # A later save of the caller's copy must not restore the old stamp.
    user.save()
    user.refresh_from_db()
    assert user.security_stamp != before


@pytest.mark.parametrize("typed", ["coordinator_a", "COORDINATOR_A"])
def test_lockout_ends_sessions_and_tokens_of_that_account_only(personas, settings, typed) -> None:
    web, api = _signed_in("coordinator_a", personas.password)
    script = _with_token(personas.coordinator_a, personas.password)
    other = (
        *_signed_in("coordinator_b", personas.password),
        _with_token(personas.coordinator_b, personas.password),
    )

    attacker = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(attacker, typed, "guessing")

    _signed_out(web, api, script)
    _still_in(*other)
    revoked = ApiToken.objects.get(user=personas.coordinator_a)
    assert revoked.history.latest().history_change_reason == (
        "Account locked after repeated failed sign-ins"
    )
    assert revoked.history.latest().history_user.username == "system"


def test_a_lockout_of_an_unknown_name_touches_nobody(personas, settings) -> None:
    web, api = _signed_in("coordinator_a", personas.password)
    script = _with_token(personas.coordinator_a, personas.password)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(Client(), "coordinator", "guessing")
    _still_in(web, api, script)
