"""The staff pages of a trial: its administrators give, approve and end roles, invite and remove
people with a reason and read the history; nobody else reaches them."""

from __future__ import annotations

import re

import pytest

from accounts.models import User
from ecrf.access import Role
from tests.staff_world import StaffWorld, staff_world
from trials.access import user_roles
from trials.models import Membership, RoleGrantRequest, RoleRequestStatus

STAFF = "/trials/DEMO/staff/"


@pytest.fixture
def w(personas) -> StaffWorld:
    return staff_world(personas)


def main_of(response) -> str:
    page = response.content.decode()
    return page[page.index("<main>") : page.index("</main>")]


@pytest.mark.parametrize(
    ("who", "answer"),
    [("coordinator_a", 403), ("data_manager", 403), ("other_admin", 404), ("outsider", 404)],
)
def test_only_the_trial_admin_reaches_the_staff_pages(client, w, who, answer) -> None:
    user = getattr(w, who, None) or getattr(w.p, who)
    client.force_login(user)
    membership = w.p.coordinator_b.memberships.get()
    assert client.get(STAFF).status_code == answer
    assert client.get(STAFF + "history/").status_code == answer
    for path in (
        "grant/",
        "invite/",
        f"memberships/{membership.pk}/end/",
        f"people/{w.p.coordinator_b.pk}/remove/",
    ):
        response = client.post(
            STAFF + path,
            {"username": "outsider", "role": "coordinator", "site": w.p.site_a.pk, "reason": "x"},
        )
        assert response.status_code == answer, path
    membership.refresh_from_db()
    assert membership.ended_at is None
    assert user_roles(w.p.outsider, w.p.trial) == set()


def test_signed_out_visitors_are_sent_to_sign_in(client, w) -> None:
    response = client.get(STAFF)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_the_staff_page_shows_members_by_site_and_role_labels(
    client, w, django_assert_num_queries
) -> None:
    client.force_login(w.p.trial_admin)
    # Session and user; the trial and the admin's roles; the members with people and sites;
    # pending requests; the sites of the two forms; the workspace (the admin's memberships,
    # twice: current one and the menu); the session saved (savepoint, update, release).
    with django_assert_num_queries(13):
        response = client.get(STAFF)
    assert response.status_code == 200
    main = main_of(response)
    assert "Hospital A" in main and "Hospital B" in main
    assert "Study coordinator / nurse" in main
    assert "Statistician (unblinded) / DSMB" in main
    assert "other_admin" not in main
    # No inline script or event handler: the pages run under a Content-Security-Policy.
    assert "<script" not in main
    assert not re.search(r"\son[a-z]+=", main)


def test_the_nav_offers_staff_to_the_admin_and_the_django_admin_to_operators(client, w) -> None:
    client.force_login(w.p.trial_admin)
    page = client.get("/").content.decode()
    assert STAFF in page
    assert "Invite staff, and give or end their roles with a reason" in page
    assert "/admin/" not in page
    client.force_login(w.p.coordinator_a)
    assert STAFF not in client.get("/").content.decode()
    client.force_login(w.operator)
    assert 'href="/admin/"' in client.get("/").content.decode()


def test_grant_an_ordinary_role_from_the_page(client, w) -> None:
    client.force_login(w.p.trial_admin)
    response = client.post(
        STAFF + "grant/",
        {"username": "outsider", "role": "coordinator", "site": w.p.site_b.pk, "reason": "Nurse"},
        follow=True,
    )
    assert response.status_code == 200
    assert "now holds the role Study coordinator / nurse" in response.content.decode()
    assert user_roles(w.p.outsider, w.p.trial, w.p.site_b) == {Role.COORDINATOR}


def test_a_refused_grant_shows_the_form_again_with_the_message(client, w) -> None:
    client.force_login(w.p.trial_admin)
    response = client.post(
        STAFF + "grant/", {"username": "nobody-here", "role": "statistician", "reason": "x"}
    )
    assert response.status_code == 400
    assert "No account has this username" in response.content.decode()
    missing_site = client.post(
        STAFF + "grant/", {"username": "outsider", "role": "monitor", "reason": "x"}
    )
    assert missing_site.status_code == 400
    assert "This role works at a named site." in missing_site.content.decode()


def test_an_unblinded_role_is_requested_then_approved_by_another_admin(client, w) -> None:
    client.force_login(w.p.trial_admin)
    asked = client.post(
        STAFF + "grant/",
        {"username": "outsider", "role": "unblinded_statistician", "reason": "DSMB"},
        follow=True,
    )
    assert "awaits the approval of a second administrator" in asked.content.decode()
    request = RoleGrantRequest.objects.get()
    page = client.get(STAFF).content.decode()
    assert f'id="request-{request.pk}"' in page
    assert f"requests/{request.pk}/approve/" not in page  # not offered to the requester
    own = client.post(STAFF + f"requests/{request.pk}/approve/", {"reason": "Me"})
    assert own.status_code == 403
    assert user_roles(w.p.outsider, w.p.trial) == set()

    client.force_login(w.second_admin)
    assert f"requests/{request.pk}/approve/" in client.get(STAFF).content.decode()
    no_reason = client.post(STAFF + f"requests/{request.pk}/approve/", {"reason": ""})
    assert no_reason.status_code == 400
    approved = client.post(
        STAFF + f"requests/{request.pk}/approve/", {"reason": "Charter signed"}, follow=True
    )
    assert "Approved" in approved.content.decode()
    assert user_roles(w.p.outsider, w.p.trial) == {Role.UNBLINDED_STATISTICIAN}
    again = client.post(STAFF + f"requests/{request.pk}/reject/", {"reason": "Late"})
    assert again.status_code == 400
    assert "already approved" in again.content.decode()


def test_end_a_role_and_remove_a_person_from_the_page(client, w) -> None:
    client.force_login(w.p.trial_admin)
    membership = w.p.monitor_a.memberships.get()
    ended = client.post(STAFF + f"memberships/{membership.pk}/end/", {"reason": "Reassigned"})
    assert ended.status_code == 302
    membership.refresh_from_db()
    assert membership.ended_at is not None

    removed = client.post(
        STAFF + f"people/{w.p.coordinator_b.pk}/remove/", {"reason": "Left"}, follow=True
    )
    assert "is now closed" in removed.content.decode()
    w.p.coordinator_b.refresh_from_db()
    assert not w.p.coordinator_b.is_active


def test_the_admin_cannot_end_their_own_admin_role_from_the_page(client, w) -> None:
    client.force_login(w.p.trial_admin)
    own = w.p.trial_admin.memberships.get()
    assert client.post(STAFF + f"memberships/{own.pk}/end/", {"reason": "x"}).status_code == 403
    assert user_roles(w.p.trial_admin, w.p.trial) == {Role.TRIAL_ADMIN}


def test_invite_from_the_page(client, w, mailoutbox, django_capture_on_commit_callbacks) -> None:
    client.force_login(w.p.trial_admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            STAFF + "invite/",
            {
                "invite-username": "new.monitor",
                "invite-first_name": "Mona",
                "invite-last_name": "Itor",
                "invite-email": "mona@example.org",
                "invite-language": "en",
                "invite-role": "monitor",
                "invite-site": w.p.site_a.pk,
                "invite-reason": "New CRA",
            },
            follow=True,
        )
    assert "is invited" in response.content.decode()
    user = User.objects.get(username="new.monitor")
    assert user_roles(user, w.p.trial, w.p.site_a) == {Role.MONITOR}
    assert mailoutbox[0].to == ["mona@example.org"]
    assert "has not chosen a password yet" in client.get(STAFF).content.decode()


def test_an_invitation_of_an_existing_person_is_refused_on_the_page(client, w) -> None:
    client.force_login(w.p.trial_admin)
    response = client.post(
        STAFF + "invite/",
        {
            "invite-username": "someone.new",
            "invite-first_name": "A",
            "invite-last_name": "B",
            "invite-email": "investigator_a@example.org",
            "invite-language": "en",
            "invite-role": "monitor",
            "invite-site": w.p.site_a.pk,
            "invite-reason": "x",
        },
    )
    assert response.status_code == 400
    assert "give them a role instead" in response.content.decode()
    assert not User.objects.filter(username="someone.new").exists()


def test_the_history_shows_who_did_what_and_why(client, w) -> None:
    client.force_login(w.p.trial_admin)
    membership = w.p.monitor_a.memberships.get()
    client.post(STAFF + f"memberships/{membership.pk}/end/", {"reason": "Reassigned to B"})
    client.post(
        STAFF + "grant/",
        {"username": "outsider", "role": "pharmacist", "site": w.p.site_a.pk, "reason": "CTU"},
    )
    request = RoleGrantRequest.objects.get()
    client.force_login(w.second_admin)
    client.post(STAFF + f"requests/{request.pk}/reject/", {"reason": "Not trained yet"})
    page = client.get(STAFF + "history/").content.decode()
    for text in (
        "Role ended",
        "Reassigned to B",
        "Role requested, awaiting a second person",
        "Request rejected",
        "Not trained yet",
        "Pharmacist / cell-therapy unit",
        "Trial Admin (trial_admin)",
    ):
        assert text in page, text
    assert RoleGrantRequest.objects.get().status == RoleRequestStatus.REJECTED
    assert Membership.objects.filter(user=w.p.outsider).count() == 0


def test_the_history_shows_account_changes_made_by_operators_with_their_reason(client, w) -> None:
    member = w.p.coordinator_a
    member.email = "changed@example.org"
    member._history_user = w.operator
    member._change_reason = "E-mail changed at the hospital's request"
    member.save()
    outsider = w.p.outsider
    outsider.email = "elsewhere@example.org"
    outsider._history_user = w.operator
    outsider._change_reason = "Not a member of this trial"
    outsider.save()
    client.force_login(w.p.trial_admin)
    page = client.get(STAFF + "history/").content.decode()
    assert "Account changed" in page
    assert "E-mail changed at the hospital&#x27;s request" in page
    assert f"({w.operator.username})" in page
    # Accounts of people who never held a role in the trial are not its business.
    assert "Not a member of this trial" not in page
