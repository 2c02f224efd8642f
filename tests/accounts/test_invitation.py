"""The invitation link: it sets the invited person's password once, and only until it expires;
closing an account ends its sessions and API tokens at once."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.conf import settings

from accounts.models import User
from ecrf.access import Role
from tests.staff_world import StaffWorld, staff_world
from trials.services import staff_invite, staff_remove

NOW = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)
PASSWORD = "a long and private passphrase"


@pytest.fixture
def w(personas) -> StaffWorld:
    return staff_world(personas)


def _invite(w, mailoutbox, capture) -> tuple[User, str]:
    with capture(execute=True):
        invitation = staff_invite(
            actor=w.p.trial_admin,
            trial=w.p.trial,
            username="new.inv",
            email="new.inv@example.org",
            printed_name="Dr New Investigator",
            role=Role.INVESTIGATOR,
            site=w.p.site_a,
            reason="New investigator",
            site_url="http://testserver/",
            now=NOW,
        )
    link = re.search(r"http://testserver(/accounts/set-password/\S+/)", mailoutbox[-1].body)
    assert link is not None
    return invitation.user, link.group(1)


def _choose(client, link: str, password: str = PASSWORD):
    opened = client.get(link)
    if opened.status_code != 302:
        return opened
    return client.post(opened["Location"], {"new_password1": password, "new_password2": password})


def _sign_in(client, username: str, password: str = PASSWORD) -> bool:
    response = client.post("/accounts/login/", {"username": username, "password": password})
    return response.status_code == 302


def test_the_link_sets_the_password_once(
    client, w, mailoutbox, django_capture_on_commit_callbacks
) -> None:
    user, link = _invite(w, mailoutbox, django_capture_on_commit_callbacks)
    assert not _sign_in(client, "new.inv", "")
    done = _choose(client, link)
    assert done.status_code == 302
    assert done["Location"] == "/accounts/set-password/done/"
    user.refresh_from_db()
    assert user.check_password(PASSWORD)
    assert _sign_in(client, "new.inv")

    # The same link again: refused, the password stays.
    client.post("/accounts/logout/")
    again = _choose(client, link, "another long passphrase here")
    assert again.status_code == 200
    assert "This link no longer works" in again.content.decode()
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_the_link_expires(client, w, mailoutbox, django_capture_on_commit_callbacks) -> None:
    with time_machine.travel(NOW, tick=False):
        user, link = _invite(w, mailoutbox, django_capture_on_commit_callbacks)
    late = NOW + timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT + 60)
    with time_machine.travel(late, tick=False):
        response = _choose(client, link)
    assert response.status_code == 200
    assert "This link no longer works" in response.content.decode()
    user.refresh_from_db()
    assert not user.has_usable_password()


def test_the_link_works_within_its_time(
    client, w, mailoutbox, django_capture_on_commit_callbacks
) -> None:
    with time_machine.travel(NOW, tick=False):
        user, link = _invite(w, mailoutbox, django_capture_on_commit_callbacks)
    soon = NOW + timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT - 60)
    with time_machine.travel(soon, tick=False):
        assert _choose(client, link).status_code == 302
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_a_weak_password_is_refused(
    client, w, mailoutbox, django_capture_on_commit_callbacks
) -> None:
    user, link = _invite(w, mailoutbox, django_capture_on_commit_callbacks)
    response = _choose(client, link, "short")
    assert response.status_code == 200
    assert "at least 12 characters" in response.content.decode()
    user.refresh_from_db()
    assert not user.has_usable_password()


def test_a_forged_link_for_an_existing_account_is_refused(client, w) -> None:
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    uid = urlsafe_base64_encode(force_bytes(w.p.investigator_a.pk))
    response = client.get(f"/accounts/set-password/{uid}/abc-123/")
    assert response.status_code == 200
    assert "This link no longer works" in response.content.decode()


def test_the_invitation_email_speaks_the_invitees_language(
    w, mailoutbox, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        staff_invite(
            actor=w.p.trial_admin,
            trial=w.p.trial,
            username="nueva",
            email="nueva@example.org",
            first_name="Nueva",
            last_name="Persona",
            language="es",
            role=Role.COORDINATOR,
            site=w.p.site_b,
            reason="Nueva enfermera",
            site_url="http://testserver/",
            now=NOW,
        )
    assert "contraseña" in mailoutbox[0].body


def test_closing_an_account_ends_its_session_at_once(client, w) -> None:
    victim = w.p.coordinator_b
    assert _sign_in(client, victim.username, w.p.password)
    assert client.get("/").status_code == 200
    staff_remove(actor=w.p.trial_admin, user=victim, trial=w.p.trial, reason="Left", now=NOW)
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert not _sign_in(client, victim.username, w.p.password)
