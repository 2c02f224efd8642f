"""Two-factor authentication: set-up, verification, recovery codes, who must use it, and that
nothing (pages, the session API, the admin, token creation) is reached before it."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from axes.models import AccessAttempt
from django.test import Client
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from accounts.models import ApiToken
from accounts.services import token_create
from tests.accounts.signing_in import code_now, enrol, sign_in
from tests.factories import UserFactory

T0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]
REQUIRED = ["investigator_a", "pharmacist_a", "unblinded_statistician", "trial_admin"]
OPTIONAL = ["coordinator_a", "monitor_a", "data_manager", "medical_monitor", "statistician"]


def _goes_to(response, path: str) -> None:
    assert response.status_code == 302, response.status_code
    assert response["Location"].startswith(path), response["Location"]


def _api_refused(client: Client) -> None:
    response = client.get("/api/v1/me/")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "two_factor_required"


@pytest.mark.usefixtures("two_factor_on")
def test_sign_in_set_up_and_verify_with_real_codes(personas) -> None:
    client = Client()
    with time_machine.travel(T0, tick=False) as clock:
        _goes_to(sign_in(client, "investigator_a", personas.password), "/")
        _goes_to(client.get("/trials/participants/"), "/accounts/two-factor/setup/")
        _api_refused(client)

        page = client.get("/accounts/two-factor/setup/?next=/trials/participants/")
        assert page.status_code == 200
        html = page.content.decode()
        assert "<svg" in html and page.context["secret"] in html
        device = TOTPDevice.objects.get(user=personas.investigator_a)
        assert device.confirmed is False
        # Reloading shows the same secret, so a scanned code stays valid.
        assert client.get("/accounts/two-factor/setup/").context["secret"] == page.context["secret"]

        wrong = client.post("/accounts/two-factor/setup/", {"code": "000000"})
        assert wrong.status_code == 400
        assert "That code is not right" in wrong.content.decode()
        _api_refused(client)

        clock.shift(timedelta(seconds=5))  # past the wait that follows a wrong code
        done = client.post(
            "/accounts/two-factor/setup/",
            {"code": code_now(device), "next": "/trials/participants/"},
        )
        assert done.status_code == 200
        codes = done.context["codes"]
        assert len(codes) == len(set(codes)) == 10
        assert all(code in done.content.decode() for code in codes)
        device.refresh_from_db()
        assert device.confirmed is True
        assert client.get("/").status_code == 200
        assert client.get("/api/v1/me/").status_code == 200

        client.post("/accounts/logout/")
        _goes_to(sign_in(client, "investigator_a", personas.password), "/")
        _goes_to(client.get("/"), "/accounts/two-factor/verify/")
        _api_refused(client)
        # The code just used is not accepted twice.
        replay = client.post("/accounts/two-factor/verify/", {"code": code_now(device)})
        assert replay.status_code == 400
        clock.shift(timedelta(seconds=31))
        verified = client.post(
            "/accounts/two-factor/verify/", {"code": code_now(device), "next": "/review/"}
        )
        _goes_to(verified, "/review/")
        assert client.get("/").status_code == 200
        assert client.get("/api/v1/me/").status_code == 200


@pytest.mark.usefixtures("two_factor_on")
def test_a_recovery_code_works_once(personas) -> None:
    _, codes = enrol(personas.investigator_a)
    client = Client()
    sign_in(client, "investigator_a", personas.password)
    _goes_to(
        client.post("/accounts/two-factor/verify/", {"code": codes[0].upper(), "next": "/"}), "/"
    )
    assert client.get("/").status_code == 200
    assert StaticToken.objects.filter(device__user=personas.investigator_a).count() == 9

    again = Client()
    sign_in(again, "investigator_a", personas.password)
    reused = again.post("/accounts/two-factor/verify/", {"code": codes[0]})
    assert reused.status_code == 400
    _goes_to(again.get("/"), "/accounts/two-factor/verify/")


@pytest.mark.usefixtures("two_factor_on")
def test_a_wrong_code_counts_towards_the_account_lockout(personas) -> None:
    enrol(personas.investigator_a)
    client = Client()
    sign_in(client, "investigator_a", personas.password)
    assert client.post("/accounts/two-factor/verify/", {"code": "abcdefgh"}).status_code == 400
    attempt = AccessAttempt.objects.get(username="investigator_a")
    assert attempt.failures_since_start == 1


@pytest.mark.usefixtures("two_factor_on")
@pytest.mark.parametrize("username", REQUIRED)
def test_required_roles_reach_nothing_before_set_up(personas, username) -> None:
    client = Client()
    client.force_login(getattr(personas, username))
    for path in ("/", "/trials/participants/", "/review/", "/accounts/tokens/", "/admin/"):
        _goes_to(client.get(path), "/accounts/two-factor/setup/")
    _api_refused(client)
    token = client.post("/api/v1/tokens/", {"name": "x", "password": personas.password})
    assert token.status_code == 403
    assert not ApiToken.objects.exists()
    # Once set up, the next sign-in asks for a code, and set-up cannot be used to skip it.
    enrol(getattr(personas, username))
    client.post("/accounts/logout/")
    sign_in(client, username, personas.password)
    _goes_to(client.get("/"), "/accounts/two-factor/verify/")
    assert client.get("/accounts/two-factor/setup/").status_code == 302


@pytest.mark.usefixtures("two_factor_on")
@pytest.mark.parametrize("username", OPTIONAL)
def test_optional_roles_may_skip_it(personas, username) -> None:
    client = Client()
    client.force_login(getattr(personas, username))
    assert client.get("/").status_code == 200
    assert client.get("/api/v1/me/").status_code == 200


@pytest.mark.usefixtures("two_factor_on")
def test_an_optional_user_who_set_it_up_must_use_it_and_may_turn_it_off(personas) -> None:
    enrol(personas.coordinator_a)
    client = Client()
    sign_in(client, "coordinator_a", personas.password)
    _goes_to(client.get("/"), "/accounts/two-factor/verify/")
    _api_refused(client)
    device = TOTPDevice.objects.get(user=personas.coordinator_a)
    with time_machine.travel(timezone.now() + timedelta(seconds=60), tick=False):
        _goes_to(client.post("/accounts/two-factor/verify/", {"code": code_now(device)}), "/")
    refused = client.post("/accounts/two-factor/disable/", {"password": "not it"}, follow=True)
    assert "The password is not correct." in refused.content.decode()
    assert TOTPDevice.objects.filter(user=personas.coordinator_a).exists()
    client.post("/accounts/two-factor/disable/", {"password": personas.password})
    assert not TOTPDevice.objects.filter(user=personas.coordinator_a).exists()
    client.post("/accounts/logout/")
    sign_in(client, "coordinator_a", personas.password)
    assert client.get("/").status_code == 200


@pytest.mark.usefixtures("two_factor_on")
def test_a_required_role_cannot_turn_it_off(personas) -> None:
    enrol(personas.trial_admin)
    client = Client()
    sign_in(client, "trial_admin", personas.password)
    device = TOTPDevice.objects.get(user=personas.trial_admin)
    with time_machine.travel(timezone.now() + timedelta(seconds=60), tick=False):
        client.post("/accounts/two-factor/verify/", {"code": code_now(device)})
    page = client.post(
        "/accounts/two-factor/disable/", {"password": personas.password}, follow=True
    )
    assert "requires two-factor authentication" in page.content.decode()
    assert TOTPDevice.objects.filter(user=personas.trial_admin, confirmed=True).exists()


@pytest.mark.usefixtures("two_factor_on")
def test_recovery_codes_are_renewed_after_the_password(personas) -> None:
    _, old = enrol(personas.coordinator_a)
    client = Client()
    sign_in(client, "coordinator_a", personas.password)
    client.post("/accounts/two-factor/verify/", {"code": old[0]})
    wrong = client.post("/accounts/two-factor/recovery-codes/", {"password": "nope"})
    assert wrong.status_code == 302
    assert StaticToken.objects.filter(token=old[1]).exists()
    renewed = client.post("/accounts/two-factor/recovery-codes/", {"password": personas.password})
    new = renewed.context["codes"]
    assert len(new) == 10 and not set(new) & set(old)
    assert not StaticToken.objects.filter(token__in=old).exists()
    # The session verified with an old code stays verified.
    assert client.get("/").status_code == 200


@pytest.mark.usefixtures("two_factor_on")
def test_set_up_cannot_replace_an_authenticator_before_verification(personas) -> None:
    enrol(personas.investigator_a)
    client = Client()
    sign_in(client, "investigator_a", personas.password)
    _goes_to(client.get("/accounts/two-factor/setup/"), "/accounts/two-factor/verify/")
    _goes_to(
        client.post("/accounts/two-factor/setup/", {"code": "123456"}),
        "/accounts/two-factor/verify/",
    )
    assert TOTPDevice.objects.filter(user=personas.investigator_a).count() == 1


@pytest.mark.usefixtures("two_factor_on")
def test_replacing_the_authenticator_takes_the_password(personas) -> None:
    old, codes = enrol(personas.coordinator_a)
    client = Client()
    sign_in(client, "coordinator_a", personas.password)
    client.post("/accounts/two-factor/verify/", {"code": codes[0]})
    client.get("/accounts/two-factor/setup/")
    new = TOTPDevice.objects.get(user=personas.coordinator_a, confirmed=False)
    refused = client.post("/accounts/two-factor/setup/", {"code": code_now(new), "password": "x"})
    assert refused.status_code == 400
    done = client.post(
        "/accounts/two-factor/setup/", {"code": code_now(new), "password": personas.password}
    )
    assert done.status_code == 200
    assert list(TOTPDevice.objects.filter(user=personas.coordinator_a)) == [new]
    assert not TOTPDevice.objects.filter(pk=old.pk).exists()


@pytest.mark.usefixtures("two_factor_on")
def test_platform_operators_need_a_verified_session_for_the_admin(personas) -> None:
    operator = UserFactory(username="operator", is_superuser=True, is_staff=True)
    client = Client()
    client.force_login(operator)
    _goes_to(client.get("/admin/"), "/accounts/two-factor/setup/")
    _goes_to(client.get("/admin/accounts/user/"), "/accounts/two-factor/setup/")
    device, _ = enrol(operator)
    client.post("/accounts/logout/")
    sign_in(client, "operator", personas.password)
    _goes_to(client.get("/admin/"), "/accounts/two-factor/verify/")
    with time_machine.travel(timezone.now() + timedelta(seconds=60), tick=False):
        client.post("/accounts/two-factor/verify/", {"code": code_now(device)})
    assert client.get("/admin/").status_code == 200


@pytest.mark.usefixtures("two_factor_on")
def test_tokens_skip_the_second_factor_but_need_a_verified_session_to_be_made(personas) -> None:
    device, _ = enrol(personas.investigator_a)
    _, key = token_create(
        user=personas.investigator_a, name="s", password=personas.password, now=timezone.now()
    )
    script = APIClient()
    script.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert script.get("/api/v1/me/").status_code == 200

    api = APIClient()
    api.post("/accounts/login/", {"username": "investigator_a", "password": personas.password})
    body = {"name": "new", "password": personas.password}
    assert api.post("/api/v1/tokens/", body, format="json").status_code == 403
    with time_machine.travel(timezone.now() + timedelta(seconds=60), tick=False):
        api.post("/accounts/two-factor/verify/", {"code": code_now(device)})
    assert api.post("/api/v1/tokens/", body, format="json").status_code == 201


def test_the_setting_turns_the_requirement_off(personas, settings) -> None:
    settings.TWO_FACTOR_REQUIRED_ROLES = []
    client = Client()
    client.force_login(personas.investigator_a)
    assert client.get("/").status_code == 200
    assert client.get("/api/v1/me/").status_code == 200


def test_the_setting_may_name_only_some_roles(personas, settings) -> None:
    settings.TWO_FACTOR_REQUIRED_ROLES = ["monitor"]
    monitor, investigator = Client(), Client()
    monitor.force_login(personas.monitor_a)
    investigator.force_login(personas.investigator_a)
    _goes_to(monitor.get("/"), "/accounts/two-factor/setup/")
    assert investigator.get("/").status_code == 200


def _settings_value(**env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings; "
            "print(','.join(settings.TWO_FACTOR_REQUIRED_ROLES))",
        ],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "ecrf.settings.local", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_deployments_require_it_by_default_and_none_turns_it_off() -> None:
    default = _settings_value()
    assert default.stdout.strip() == (
        "investigator,pharmacist,unblinded_statistician,trial_admin,superuser"
    )
    assert _settings_value(TWO_FACTOR_REQUIRED_ROLES="none").stdout.strip() == ""
    unknown = _settings_value(TWO_FACTOR_REQUIRED_ROLES="investigator,doctor")
    assert unknown.returncode != 0
    assert "TWO_FACTOR_REQUIRED_ROLES names unknown roles ['doctor']" in unknown.stderr
