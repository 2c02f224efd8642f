"""The Django admin is for platform operators: a trial administrator can neither enter it nor
use it to take over accounts, passwords, memberships or API tokens."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db.models.signals import pre_save
from rest_framework.test import APIClient

from accounts.models import ApiToken, User
from accounts.services import token_create, token_revoke
from ecrf.access import Role
from tests.factories import DEFAULT_PASSWORD, UserFactory
from tests.staff_world import StaffWorld, staff_world
from trials.access import user_roles
from trials.models import Membership

NOW = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)
NEW_PASSWORD = "a password the attacker chose"


@pytest.fixture
def w(personas) -> StaffWorld:
    return staff_world(personas)


def _refused(response) -> None:
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


@pytest.mark.parametrize(
    "who", ["trial_admin", "data_manager", "coordinator_a", "staff_only", "closed_operator"]
)
def test_only_active_superusers_enter_the_admin(client, w, who) -> None:
    if who == "staff_only":
        user = UserFactory(username="staff_only", is_staff=True)
    elif who == "closed_operator":
        user = UserFactory(username="closed", is_superuser=True, is_staff=True, is_active=False)
    else:
        user = getattr(w.p, who)
    client.force_login(user)
    for url in ("/admin/", "/admin/accounts/user/", "/admin/trials/membership/"):
        _refused(client.get(url))


def test_an_operator_enters_the_admin(client, w) -> None:
    client.force_login(w.operator)
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/accounts/user/").status_code == 200


def test_a_trial_admin_cannot_make_themselves_superuser(client, w) -> None:
    admin = w.p.trial_admin
    client.force_login(admin)
    response = client.post(
        f"/admin/accounts/user/{admin.pk}/change/",
        {"username": admin.username, "is_superuser": "on", "is_staff": "on", "is_active": "on"},
    )
    _refused(response)
    admin.refresh_from_db()
    assert not admin.is_superuser and not admin.is_staff


def test_a_trial_admin_cannot_set_another_trials_investigators_password(client, w) -> None:
    victim = w.other_investigator
    client.force_login(w.p.trial_admin)
    response = client.post(
        f"/admin/accounts/user/{victim.pk}/password/",
        {
            "usable_password": "true",
            "password1": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
            "set-password": "1",
        },
    )
    _refused(response)
    victim.refresh_from_db()
    assert victim.check_password(w.p.password)
    # So nobody signs in as the investigator to sign in their name.
    client.logout()
    signed_in = client.post(
        "/accounts/login/", {"username": victim.username, "password": NEW_PASSWORD}
    )
    assert signed_in.status_code == 200
    assert "_auth_user_id" not in client.session
    refused = client.post("/api/v1/participants/1/signatures/", {}, content_type="application/json")
    assert refused.status_code in (401, 403)


def test_a_trial_admin_cannot_add_a_membership_in_another_trial(client, w) -> None:
    intruder = w.other_admin
    client.force_login(intruder)
    response = client.post(
        "/admin/trials/membership/add/",
        {
            "user": intruder.pk,
            "trial": w.p.trial.pk,
            "role": Role.UNBLINDED_STATISTICIAN,
            "change_reason": "Because I can",
        },
    )
    _refused(response)
    assert user_roles(intruder, w.p.trial) == set()
    assert not Membership.objects.filter(user=intruder, trial=w.p.trial).exists()
    # Nor through the API of that trial, which does not exist for them.
    api = APIClient()
    api.force_login(intruder)
    grant = api.post(
        f"/api/v1/trials/{w.p.trial.code}/memberships/",
        {"username": intruder.username, "role": Role.UNBLINDED_STATISTICIAN, "reason": "x"},
        format="json",
    )
    assert grant.status_code == 404
    assert user_roles(intruder, w.p.trial) == set()


# Operators: reasons on users and memberships ------------------------------------------------


def _user_form(user: User, **changes: str) -> dict[str, str]:
    data = {
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "is_active": "on",
        "date_joined_0": user.date_joined.strftime("%Y-%m-%d"),
        "date_joined_1": user.date_joined.strftime("%H:%M:%S"),
        "printed_name": user.printed_name,
        "language": user.language,
    }
    return data | changes


def test_an_operator_changes_a_user_only_with_a_reason(client, w) -> None:
    client.force_login(w.operator)
    target = w.p.coordinator_a
    url = f"/admin/accounts/user/{target.pk}/change/"
    without = client.post(url, _user_form(target, printed_name="Renamed"))
    assert without.status_code == 200
    assert "This field is required" in without.content.decode()
    target.refresh_from_db()
    assert target.printed_name != "Renamed"

    seen: list[tuple[str, object]] = []

    def record(sender, instance, **kwargs) -> None:
        seen.append(
            (getattr(instance, "_change_reason", ""), getattr(instance, "_history_user", None))
        )

    pre_save.connect(record, sender=User, dispatch_uid="test-admin-reason")
    try:
        done = client.post(
            url,
            _user_form(target, printed_name="Renamed", change_reason="Name changed at marriage"),
        )
    finally:
        pre_save.disconnect(dispatch_uid="test-admin-reason", sender=User)
    assert done.status_code == 302
    target.refresh_from_db()
    assert target.printed_name == "Renamed"
    assert ("Name changed at marriage", w.operator) in seen
    record = target.history.latest("history_date")
    assert (record.printed_name, record.history_change_reason, record.history_user) == (
        "Renamed",
        "Name changed at marriage",
        w.operator,
    )


def test_an_operator_deactivating_a_user_ends_their_sessions_and_tokens(client, w) -> None:
    target = w.p.coordinator_a
    _, key = token_create(user=target, name="script", password=DEFAULT_PASSWORD, now=NOW)
    session = APIClient()
    session.force_login(target)
    assert session.get("/api/v1/me/").status_code == 200
    client.force_login(w.operator)
    data = _user_form(target, change_reason="Left the hospital")
    del data["is_active"]
    done = client.post(f"/admin/accounts/user/{target.pk}/change/", data)
    assert done.status_code == 302
    target.refresh_from_db()
    assert not target.is_active
    assert session.get("/api/v1/me/").status_code in (401, 403)
    token_api = APIClient()
    token_api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert token_api.get("/api/v1/me/").status_code == 401
    token = ApiToken.objects.get(user=target)
    assert token.revoked_at is not None
    assert token.history.latest("history_date").history_change_reason == "Left the hospital"


def test_an_operator_changes_a_membership_with_a_reason_kept_in_history(client, w) -> None:
    client.force_login(w.operator)
    membership = w.p.coordinator_b.memberships.get()
    url = f"/admin/trials/membership/{membership.pk}/change/"
    data = {
        "user": membership.user_id,
        "trial": membership.trial_id,
        "site": membership.site_id,
        "role": membership.role,
        "ended_at_0": "2026-05-04",
        "ended_at_1": "08:00:00",
    }
    assert client.post(url, data).status_code == 200
    membership.refresh_from_db()
    assert membership.ended_at is None
    assert client.post(url, data | {"change_reason": "Left, recorded late"}).status_code == 302
    record = membership.history.first()
    assert record.ended_at is not None
    assert record.history_change_reason == "Left, recorded late"
    assert record.history_user == w.operator


# API tokens ----------------------------------------------------------------------------------


def test_the_token_admin_never_changes_an_owner_nor_revives_a_token(client, w) -> None:
    token, _ = token_create(
        user=w.p.data_manager, name="script", password=DEFAULT_PASSWORD, now=NOW
    )
    revoked, _ = token_create(user=w.p.data_manager, name="old", password=DEFAULT_PASSWORD, now=NOW)
    token_revoke(user=w.p.data_manager, token_id=revoked.pk, now=NOW)
    client.force_login(w.operator)
    url = f"/admin/accounts/apitoken/{revoked.pk}/change/"
    assert client.get(url).status_code == 200  # readable
    changed = client.post(
        url,
        {
            "user": w.operator.pk,
            "name": "old",
            "prefix": revoked.prefix,
            "key_hash": revoked.key_hash,
            "created_at_0": "2026-05-04",
            "created_at_1": "08:00:00",
            "revoked_at_0": "",
            "revoked_at_1": "",
        },
    )
    assert changed.status_code == 403
    assert client.get("/admin/accounts/apitoken/add/").status_code == 403
    revoked.refresh_from_db()
    assert revoked.user == w.p.data_manager
    assert revoked.revoked_at == NOW

    action = client.post(
        "/admin/accounts/apitoken/",
        {"action": "revoke", "_selected_action": [token.pk, revoked.pk]},
    )
    assert action.status_code == 302
    token.refresh_from_db()
    revoked.refresh_from_db()
    assert token.revoked_at is not None
    assert revoked.revoked_at == NOW  # a revocation date is never moved
    assert set(ApiToken.objects.values_list("user_id", flat=True)) == {w.p.data_manager.pk}


def test_a_trial_admin_cannot_reach_the_token_admin(client, w) -> None:
    token, _ = token_create(
        user=w.p.data_manager, name="script", password=DEFAULT_PASSWORD, now=NOW
    )
    client.force_login(w.p.trial_admin)
    _refused(client.get(f"/admin/accounts/apitoken/{token.pk}/change/"))
    _refused(
        client.post(
            "/admin/accounts/apitoken/", {"action": "revoke", "_selected_action": [token.pk]}
        )
    )
    token.refresh_from_db()
    assert token.revoked_at is None


def test_an_operator_creates_an_account_only_with_a_reason(client, w) -> None:
    client.force_login(w.operator)
    assert client.get("/admin/accounts/user/add/").status_code == 200
    data = {
        "username": "new.operator.made",
        "usable_password": "true",
        "password1": "a long enough passphrase 1",
        "password2": "a long enough passphrase 1",
    }
    assert client.post("/admin/accounts/user/add/", data).status_code == 200
    assert not User.objects.filter(username="new.operator.made").exists()
    done = client.post("/admin/accounts/user/add/", data | {"change_reason": "Sponsor's CRA"})
    assert done.status_code == 302
    assert User.objects.filter(username="new.operator.made").exists()
