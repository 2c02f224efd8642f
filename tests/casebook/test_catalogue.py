"""The catalogue of forms: every form has its API serializers, and a code that names no form is
a 404 on every form route."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from casebook.catalogue import form_types
from casebook.forms_serializers import SERIALIZERS


def test_every_form_has_its_serializers_over_its_model() -> None:
    assert set(SERIALIZERS) == set(form_types())
    for code, ftype in form_types().items():
        assert SERIALIZERS[code].data.Meta.model is ftype.model
        assert SERIALIZERS[code].record.Meta.model is ftype.model
        assert tuple(SERIALIZERS[code].data.Meta.fields) == ftype.fields


@pytest.mark.parametrize(
    ("method", "suffix"),
    [("get", ""), ("post", ""), ("post", "not-done/"), ("get", "1/"), ("get", "1/history/")],
)
def test_a_code_that_names_no_form_is_not_found(msvle, participant, method, suffix) -> None:
    api = APIClient()
    api.force_login(msvle.coordinator)
    url = f"/api/v1/participants/{participant.pk}/forms/nothing/{suffix}"
    response = getattr(api, method)(url, {}, format="json")
    assert response.status_code == 404, response.content
    assert response.json()["error"]["code"] == "not_found"
