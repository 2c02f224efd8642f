"""The web shell: sign in and out, lockout, home page by role, language, admin access."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError

from accounts.models import User
from tests.factories import UserFactory


def _login(client, username: str, password: str):
    return client.post("/accounts/login/", {"username": username, "password": password})


def test_pages_require_sign_in(client, db) -> None:
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_sign_in_shows_what_the_user_can_do(client, personas) -> None:
    response = _login(client, "investigator_a", personas.password)
    assert response.status_code == 302
    page = client.get("/").content.decode()
    assert "Sign forms and casebooks" in page
    assert "Hospital A" in page
    assert "Lock and unlock" not in page


def test_wrong_password_is_refused_with_a_message(client, personas) -> None:
    response = _login(client, "investigator_a", "wrong password here")
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_repeated_failures_lock_the_account(client, personas, settings) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _login(client, "coordinator_a", "wrong password here")
    response = _login(client, "coordinator_a", personas.password)
    assert response.status_code == 429
    assert "Too many failed sign-in attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session
    # Another account is not affected by the lockout.
    assert _login(client, "coordinator_b", personas.password).status_code == 302


def test_sign_out(client, personas) -> None:
    _login(client, "coordinator_a", personas.password)
    client.post("/accounts/logout/")
    assert client.get("/").status_code == 302


def test_language_is_chosen_per_user(client, personas) -> None:
    _login(client, "coordinator_b", personas.password)
    client.post("/accounts/language/", {"language": "es", "next": "/"})
    assert User.objects.get(username="coordinator_b").language == "es"
    page = client.get("/").content.decode()
    assert "Cerrar sesión" in page
    assert 'lang="es"' in page
    # A different user in a new session still gets English.
    client.post("/accounts/logout/")
    _login(client, "coordinator_a", personas.password)
    assert "Sign out" in client.get("/").content.decode()


def test_unknown_language_is_refused(client, personas) -> None:
    _login(client, "coordinator_b", personas.password)
    client.post("/accounts/language/", {"language": "xx", "next": "/"})
    assert User.objects.get(username="coordinator_b").language == "en"


def test_admin_is_for_platform_operators_only(client, personas) -> None:
    for username in ("data_manager", "investigator_a", "monitor_a", "trial_admin"):
        client.force_login(User.objects.get(username=username))
        response = client.get("/admin/")
        assert response.status_code == 302, username
        assert "/admin/login/" in response["Location"]
    client.force_login(UserFactory(username="operator", is_superuser=True, is_staff=True))
    response = client.get("/admin/trials/site/")
    assert response.status_code == 200
    assert "Hospital A" in response.content.decode()


def test_admin_cannot_delete_or_revert_history(client, personas) -> None:
    client.force_login(UserFactory(username="operator", is_superuser=True, is_staff=True))
    site = personas.site_a
    assert client.get(f"/admin/trials/site/{site.pk}/delete/").status_code == 403
    history = client.get(f"/admin/trials/site/{site.pk}/history/")
    assert history.status_code == 200
    record = site.history.first()
    revert = client.get(f"/admin/trials/site/{site.pk}/history/{record.history_id}/")
    assert revert.status_code == 403


def test_admin_change_is_audited_with_the_signed_in_user(client, personas) -> None:
    operator = UserFactory(username="operator", is_superuser=True, is_staff=True)
    client.force_login(operator)
    site = personas.site_a
    response = client.post(
        f"/admin/trials/site/{site.pk}/change/",
        {
            "trial": site.trial_id,
            "code": site.code,
            "name": "Hospital A (renamed)",
            "city": "",
            "country": "ES",
            "time_zone": "Europe/Madrid",
        },
    )
    assert response.status_code == 302
    latest = site.history.first()
    assert latest.name == "Hospital A (renamed)"
    assert latest.history_user == operator


def test_password_policy_requires_twelve_characters() -> None:
    with pytest.raises(ValidationError, match="at least 12 characters"):
        validate_password("Sh0rt!pass")
    validate_password("a sufficiently long passphrase")


def test_sessions_expire_after_inactivity() -> None:
    assert settings.SESSION_SAVE_EVERY_REQUEST is True
    assert settings.SESSION_COOKIE_AGE == 30 * 60


def test_workspace_switch_only_to_own_membership(client, personas) -> None:
    from trials.models import Membership

    client.force_login(personas.coordinator_a)
    foreign = Membership.objects.get(user=personas.coordinator_b)
    client.post("/workspace/", {"membership": foreign.pk, "next": "/"})
    page = client.get("/").content.decode()
    assert "B01" not in page


def test_a_users_language_does_not_outlive_the_request(client, personas) -> None:
    from django.utils import translation

    User.objects.filter(username="coordinator_b").update(language="es")
    client.force_login(User.objects.get(username="coordinator_b"))
    before = translation.get_language()
    assert "Cerrar sesión" in client.get("/").content.decode()
    assert translation.get_language() == before
