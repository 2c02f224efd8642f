"""Edit-check errors are answered at once in the language of whoever saves: on the entry page,
and by the API to a signed-in session or a token."""

from __future__ import annotations

import pytest
from django.utils import timezone, translation
from rest_framework.test import APIClient

from accounts.services import token_create
from tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.usefixtures("after_week24")

IMPOSSIBLE_EN = "45.5 °C is impossible here (allowed 30 to 45)."
IMPOSSIBLE_ES = "45,5 °C no es posible aquí (se admite de 30 a 45)."


def spanish(user) -> None:
    user.language = "es"
    user.save(update_fields=["language"])


def test_an_impossible_value_is_refused_in_the_language_of_whoever_saves(
    client, msvle, participant
) -> None:
    w8 = participant.visits.get(code="W8")
    url = f"/api/v1/participants/{participant.pk}/forms/vitals/"
    data = {"timepoint": "visit", "measured_at": "2026-04-29T09:00", "temperature_c": 45.5}
    body = {"visit": w8.pk, "data": data}
    spanish(msvle.coordinator)
    client.force_login(msvle.coordinator)
    # The entry page, where a Spanish reader types the decimal comma.
    fields = {"visit": w8.pk, "timepoint": "visit", "measured_at": "2026-04-29T09:00"}
    refused = client.post(
        f"/casebook/{participant.pk}/vitals/new/?visit={w8.pk}",
        {**fields, "temperature_c": "45,5"},
    )
    assert refused.status_code == 400
    shown = refused.content.decode()
    assert IMPOSSIBLE_ES in shown and IMPOSSIBLE_EN not in shown
    # The API, to the signed-in session.
    refused = client.post(url, body, content_type="application/json")
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert (error["message"], error["fields"]["temperature_c"]) == (
        "Corrija los campos indicados.",
        [IMPOSSIBLE_ES],
    )
    # The API, to a token: its user's language, and no other request's afterwards.
    _, key = token_create(
        user=msvle.coordinator, name="script", password=DEFAULT_PASSWORD, now=timezone.now()
    )
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    before = translation.get_language()
    refused = api.post(url, body, format="json")
    assert refused.json()["error"]["fields"]["temperature_c"] == [IMPOSSIBLE_ES]
    assert translation.get_language() == before
    # An English reader reads the text as it always was.
    client.force_login(msvle.investigator)
    refused = client.post(url, body, content_type="application/json")
    assert refused.json()["error"]["fields"]["temperature_c"] == [IMPOSSIBLE_EN]
