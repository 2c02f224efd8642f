"""`next` after a form is followed only to a page of this site, on every page that reads it;
a malformed workspace choice is refused with a message."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from ecrf.redirects import safe_next_url
from tests.alerts.test_alerts_api import LATER, visit_alerts

OFF_SITE = [
    "//evil.example",
    "//evil.example/alerts/",
    "https://evil.example/",
    "http://testserver@evil.example/",
    "/\\evil.example",
    "\\\\evil.example",
    "/\\/evil.example",
    "javascript:alert(1)",
    "JavaScript:alert(1)",
    "data:text/html,hello",
    " //evil.example",
    "abc",
    "alerts:list",
    "",
]
ON_SITE = ["/", "/alerts/?status=", "/trials/participants/?status=screening&site=A01"]


@pytest.mark.parametrize("value", OFF_SITE)
def test_an_off_site_or_malformed_next_gives_the_default(value) -> None:
    request = RequestFactory().post("/somewhere/", {"next": value})
    assert safe_next_url(request, default="/home/") == "/home/"


@pytest.mark.parametrize("value", ON_SITE)
def test_a_path_of_this_site_is_followed(value) -> None:
    assert safe_next_url(RequestFactory().post("/", {"next": value}), default="/x/") == value
    assert safe_next_url(RequestFactory().get("/", {"next": value}), default="/x/") == value


def test_workspace_and_language_follow_only_paths_of_this_site(client, personas) -> None:
    client.force_login(personas.coordinator_a)
    for value in OFF_SITE:
        response = client.post("/workspace/", {"membership": "", "next": value})
        assert (response.status_code, response["Location"]) == (302, "/"), value
        response = client.post("/accounts/language/", {"language": "en", "next": value})
        assert (response.status_code, response["Location"]) == (302, "/"), value
    for value in ON_SITE:
        assert client.post("/workspace/", {"next": value})["Location"] == value
        assert client.post("/accounts/language/", {"language": "en", "next": value})[
            "Location"
        ] == (value)


def test_sign_in_follows_only_paths_of_this_site(client, personas) -> None:
    for value in OFF_SITE:
        response = client.post(
            f"/accounts/login/?next={value}",
            {"username": "coordinator_a", "password": personas.password, "next": value},
        )
        assert (response.status_code, response["Location"]) == (302, "/"), value
        client.logout()
    response = client.post(
        "/accounts/login/",
        {"username": "coordinator_a", "password": personas.password, "next": "/alerts/"},
    )
    assert response["Location"] == "/alerts/"


def test_acknowledging_an_alert_follows_only_paths_of_this_site(
    client,
    time_machine,
    msvle,
    participant,
) -> None:
    time_machine.move_to(LATER, tick=False)
    alert = visit_alerts()[0]
    client.force_login(msvle.investigator)
    for value in OFF_SITE:
        response = client.post(f"/alerts/{alert.pk}/acknowledge/", {"next": value})
        assert (response.status_code, response["Location"]) == (302, "/alerts/"), value
    response = client.post(f"/alerts/{alert.pk}/acknowledge/", {"next": "/alerts/?status="})
    assert response["Location"] == "/alerts/?status="


def test_a_malformed_workspace_choice_is_refused_with_a_message(client, personas) -> None:
    from trials.models import Membership

    client.force_login(personas.coordinator_a)
    own = Membership.objects.get(user=personas.coordinator_a)
    for value in ("abc", "1.5", "-1", "9" * 30, "9223372036854775808"):
        response = client.post("/workspace/", {"membership": value, "next": "/"}, follow=True)
        assert response.status_code == 200, value
        assert "That workspace is not one of yours." in response.content.decode(), value
    # A membership of someone else is refused the same way; one's own is chosen.
    foreign = Membership.objects.get(user=personas.coordinator_b)
    response = client.post("/workspace/", {"membership": foreign.pk}, follow=True)
    assert "That workspace is not one of yours." in response.content.decode()
    response = client.post("/workspace/", {"membership": own.pk}, follow=True)
    assert "That workspace is not one of yours." not in response.content.decode()
    assert client.session["workspace_membership_id"] == own.pk
