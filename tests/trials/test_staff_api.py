"""The staff API of a trial: its administrators list, grant, approve, end, invite and remove;
nobody else sees anything of it."""

from __future__ import annotations

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import User
from accounts.services import system_actor, token_create
from ecrf.access import Role
from tests.factories import DEFAULT_PASSWORD
from tests.staff_world import StaffWorld, staff_world
from trials.access import user_roles
from trials.models import Membership, RoleGrantRequest, RoleRequestStatus
from trials.services import membership_grant

BASE = "/api/v1/trials/DEMO"


@pytest.fixture
def w(personas) -> StaffWorld:
    return staff_world(personas)


def client_for(user: User) -> APIClient:
    api = APIClient()
    api.force_login(user)
    return api


ENDPOINTS = [
    ("get", "/memberships/"),
    ("post", "/memberships/"),
    ("post", "/memberships/{membership}/end/"),
    ("get", "/role-requests/"),
    ("post", "/role-requests/{request}/approve/"),
    ("post", "/role-requests/{request}/reject/"),
    ("post", "/users/"),
    ("post", "/users/{user}/remove/"),
    ("post", "/users/{user}/resend-invitation/"),
]


def _url(w: StaffWorld, path: str, request: RoleGrantRequest) -> str:
    membership = w.p.coordinator_b.memberships.get()
    return BASE + path.format(
        membership=membership.pk, request=request.pk, user=w.p.coordinator_b.pk
    )


@pytest.mark.parametrize(
    ("who", "answer"),
    [
        ("coordinator_a", 403),
        ("monitor_a", 403),
        ("data_manager", 403),
        ("unblinded_statistician", 403),
        ("other_admin", 404),
        ("outsider", 404),
    ],
)
def test_nobody_but_the_trial_admin_uses_the_staff_api(w, who: str, answer: int) -> None:
    request = membership_grant(
        actor=w.p.trial_admin,
        user=w.p.outsider,
        trial=w.p.trial,
        role=Role.UNBLINDED_STATISTICIAN,
        reason="DSMB",
    )
    user = getattr(w, who, None) or getattr(w.p, who)
    api = client_for(user)
    before = set(Membership.objects.values_list("pk", "ended_at"))
    body = {
        "username": "someone",
        "email": "someone@example.org",
        "first_name": "Some",
        "last_name": "One",
        "role": Role.COORDINATOR,
        "site": "A01",
        "reason": "Attempt",
    }
    for method, path in ENDPOINTS:
        response = getattr(api, method)(_url(w, path, request), body, format="json")
        assert response.status_code == answer, (method, path, response.content)
        assert "coordinator_b" not in response.content.decode()
    assert set(Membership.objects.values_list("pk", "ended_at")) == before
    assert not User.objects.filter(username="someone").exists()
    request.refresh_from_db()
    assert request.status == RoleRequestStatus.PENDING


def test_anonymous_gets_no_staff_api(w) -> None:
    assert APIClient().get(f"{BASE}/memberships/").status_code in (401, 403)


def test_the_trial_admin_lists_the_members(w, django_assert_num_queries) -> None:
    api = client_for(w.p.trial_admin)
    # Session and user, the trial check (trial, the admin's roles), the count, the page (with
    # people and sites joined), and the session saved again (savepoint, update, release).
    with django_assert_num_queries(9):
        body = api.get(f"{BASE}/memberships/?limit=50").json()
    assert body["count"] == Membership.objects.filter(trial=w.p.trial).count()
    rows = {(row["user"]["username"], row["role"], row["site"]) for row in body["results"]}
    assert ("coordinator_a", "coordinator", "A01") in rows
    assert ("data_manager", "data_manager", None) in rows
    first = body["results"][0]
    assert set(first) == {
        "id",
        "user",
        "site",
        "site_name",
        "role",
        "role_label",
        "since",
        "ended_at",
    }
    assert all(row["user"]["username"] != "other_admin" for row in body["results"])


def test_an_operator_uses_the_staff_api_of_any_trial(w) -> None:
    body = client_for(w.operator).get("/api/v1/trials/OTHER/memberships/").json()
    assert {row["user"]["username"] for row in body["results"]} == {"other_admin", "other_inv"}


def test_grant_then_end_a_role(w) -> None:
    api = client_for(w.p.trial_admin)
    granted = api.post(
        f"{BASE}/memberships/",
        {"username": "outsider", "role": "monitor", "site": "B01", "reason": "New CRA"},
        format="json",
    )
    assert granted.status_code == 201, granted.content
    assert granted.json()["role_label"] == "Monitor (CRA)"
    assert user_roles(w.p.outsider, w.p.trial, w.p.site_b) == {Role.MONITOR}
    ended = api.post(
        f"{BASE}/memberships/{granted.json()['id']}/end/", {"reason": "Reassigned"}, format="json"
    )
    assert ended.status_code == 200
    assert ended.json()["ended_at"] is not None
    assert user_roles(w.p.outsider, w.p.trial) == set()


def test_an_unblinded_role_is_approved_by_a_second_admin(w) -> None:
    api = client_for(w.p.trial_admin)
    asked = api.post(
        f"{BASE}/memberships/",
        {"username": "outsider", "role": "unblinded_statistician", "reason": "DSMB statistician"},
        format="json",
    )
    assert asked.status_code == 202
    request = asked.json()
    assert request["status"] == "pending"
    assert user_roles(w.p.outsider, w.p.trial) == set()

    listed = api.get(f"{BASE}/role-requests/?status=pending").json()
    assert [row["id"] for row in listed["results"]] == [request["id"]]

    own = api.post(
        f"{BASE}/role-requests/{request['id']}/approve/", {"reason": "Me"}, format="json"
    )
    assert own.status_code == 403
    assert user_roles(w.p.outsider, w.p.trial) == set()

    approved = client_for(w.second_admin).post(
        f"{BASE}/role-requests/{request['id']}/approve/",
        {"reason": "Charter signed"},
        format="json",
    )
    assert approved.status_code == 200
    assert approved.json()["status"] == "approved"
    assert approved.json()["decided_by"]["username"] == "second_admin"
    assert user_roles(w.p.outsider, w.p.trial) == {Role.UNBLINDED_STATISTICIAN}

    again = client_for(w.second_admin).post(
        f"{BASE}/role-requests/{request['id']}/reject/", {"reason": "Too late"}, format="json"
    )
    assert again.status_code == 409


def test_a_rejected_request_grants_nothing(w) -> None:
    api = client_for(w.p.trial_admin)
    asked = api.post(
        f"{BASE}/memberships/",
        {"username": "outsider", "role": "trial_admin", "reason": "Deputy"},
        format="json",
    ).json()
    rejected = client_for(w.second_admin).post(
        f"{BASE}/role-requests/{asked['id']}/reject/", {"reason": "One is enough"}, format="json"
    )
    assert rejected.json()["status"] == "rejected"
    assert user_roles(w.p.outsider, w.p.trial) == set()


def test_another_trials_rows_are_not_found_through_this_trial(w) -> None:
    api = client_for(w.p.trial_admin)
    foreign = w.other_investigator.memberships.get()
    assert (
        api.post(
            f"{BASE}/memberships/{foreign.pk}/end/", {"reason": "x"}, format="json"
        ).status_code
        == 404
    )
    assert (
        api.post(
            f"{BASE}/users/{w.other_investigator.pk}/remove/", {"reason": "x"}, format="json"
        ).status_code
        == 404
    )
    assert api.get("/api/v1/trials/OTHER/memberships/").status_code == 404
    assert foreign.__class__.objects.get(pk=foreign.pk).ended_at is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"username": "outsider", "role": "bogus", "reason": "x"}, "role"),
        ({"username": "outsider", "role": "monitor", "site": "ZZZ", "reason": "x"}, "site"),
        ({"username": "outsider", "role": "monitor", "site": "O01", "reason": "x"}, "site"),
        ({"username": "outsider", "role": "monitor", "reason": "x"}, "site"),
        ({"username": "nobody-here", "role": "statistician", "reason": "x"}, "username"),
        ({"username": "system", "role": "statistician", "reason": "x"}, "username"),
        ({"username": "outsider", "role": "statistician"}, "reason"),
        ({"username": "outsider", "role": "statistician", "reason": "x" * 2001}, "reason"),
        ({"username": "outsider", "role": "statistician", "reason": "  "}, "reason"),
    ],
)
def test_bad_grants_answer_400_naming_the_field(w, body, field) -> None:
    system_actor()
    response = client_for(w.p.trial_admin).post(f"{BASE}/memberships/", body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["fields"]
    assert user_roles(w.p.outsider, w.p.trial) == set()


@pytest.mark.parametrize("path", ["/memberships/99999999999999999999/end/", "/memberships/0/end/"])
def test_impossible_ids_are_not_found(w, path) -> None:
    response = client_for(w.p.trial_admin).post(BASE + path, {"reason": "x"}, format="json")
    assert response.status_code == 404


def test_bad_request_filter_is_a_400(w) -> None:
    response = client_for(w.p.trial_admin).get(f"{BASE}/role-requests/?status=maybe")
    assert response.status_code == 400


def test_invite_creates_the_account_the_role_and_sends_the_link(
    w, mailoutbox, django_capture_on_commit_callbacks
) -> None:
    api = client_for(w.p.trial_admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            f"{BASE}/users/",
            {
                "username": "inv.b",
                "email": "inv.b@example.org",
                "printed_name": "Dr Inés B",
                "language": "es",
                "role": "coordinator",
                "site": "B01",
                "reason": "New coordinator",
                # Flags and a password are not the inviter's to set; they are ignored.
                "password": "chosen by the inviter",
                "is_superuser": True,
                "is_staff": True,
            },
            format="json",
        )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["membership"]["role"] == "coordinator"
    assert body["request"] is None
    user = User.objects.get(username="inv.b")
    assert not user.has_usable_password()
    assert not user.is_superuser and not user.is_staff
    assert user.language == "es"
    assert len(mailoutbox) == 1
    assert "chosen by the inviter" not in mailoutbox[0].body
    assert "/accounts/set-password/" in mailoutbox[0].body
    assert "set-password" not in response.content.decode()


def test_an_invited_investigator_waits_for_a_second_person(w) -> None:
    # An investigator signs casebooks: an account the inviter controls must not sign at once.
    response = client_for(w.p.trial_admin).post(
        f"{BASE}/users/",
        {
            "username": "inv.c",
            "email": "inv.c@example.org",
            "printed_name": "Dr C",
            "role": "investigator",
            "site": "B01",
            "reason": "New investigator",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["membership"] is None
    assert body["request"]["role"] == "investigator"
    assert not user_roles(User.objects.get(username="inv.c"), w.p.trial)


def test_invite_an_existing_person_is_refused(w) -> None:
    response = client_for(w.p.trial_admin).post(
        f"{BASE}/users/",
        {
            "username": "investigator_a",
            "email": "fresh@example.org",
            "first_name": "A",
            "last_name": "B",
            "role": "coordinator",
            "site": "A01",
            "reason": "x",
        },
        format="json",
    )
    assert response.status_code == 400
    assert "give them a role instead" in response.json()["error"]["message"]


def test_invite_to_an_unblinded_role_waits_for_approval(w) -> None:
    response = client_for(w.p.trial_admin).post(
        f"{BASE}/users/",
        {
            "username": "pharm.b",
            "email": "pharm.b@example.org",
            "first_name": "P",
            "last_name": "B",
            "role": "pharmacist",
            "site": "B01",
            "reason": "Cell therapy unit",
        },
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["membership"] is None
    assert response.json()["request"]["status"] == "pending"


def test_remove_closes_the_account_and_its_tokens(w) -> None:
    victim = w.p.coordinator_b
    _, key = token_create(
        user=victim,
        name="script",
        password=DEFAULT_PASSWORD,
        now=timezone.now(),
    )
    token_api = APIClient()
    token_api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert token_api.get("/api/v1/me/").status_code == 200
    response = client_for(w.p.trial_admin).post(
        f"{BASE}/users/{victim.pk}/remove/", {"reason": "Left the hospital"}, format="json"
    )
    assert response.status_code == 200
    body = response.json()
    assert body["deactivated"] is True
    assert body["user"]["is_active"] is False
    assert [row["role"] for row in body["ended"]] == ["coordinator"]
    assert token_api.get("/api/v1/me/").status_code == 401


def test_nobody_removes_themselves(w) -> None:
    admin = w.p.trial_admin
    response = client_for(admin).post(
        f"{BASE}/users/{admin.pk}/remove/", {"reason": "x"}, format="json"
    )
    assert response.status_code == 403
    admin.refresh_from_db()
    assert admin.is_active


def test_resend_only_to_those_who_never_chose_a_password(
    w, mailoutbox, django_capture_on_commit_callbacks
) -> None:
    api = client_for(w.p.trial_admin)
    refused = api.post(f"{BASE}/users/{w.p.coordinator_a.pk}/resend-invitation/")
    assert refused.status_code == 400
    assert mailoutbox == []
    invited = User.objects.create(username="waiting", email="waiting@example.org")
    invited.set_unusable_password()
    invited.save()
    membership_grant(actor=system_actor(), user=invited, trial=w.p.trial, role=Role.STATISTICIAN)
    with django_capture_on_commit_callbacks(execute=True):
        sent = api.post(f"{BASE}/users/{invited.pk}/resend-invitation/")
    assert sent.status_code == 202
    assert sent.json() == {"email": "waiting@example.org"}
    assert [m.to for m in mailoutbox] == [["waiting@example.org"]]
