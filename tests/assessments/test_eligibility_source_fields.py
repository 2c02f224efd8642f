"""The form fields the protocol loader accepts as eligibility sources exist on the forms the
source check reads."""

from __future__ import annotations

from assessments.eligibility import FIELD_LABELS, FORM_MODELS
from trials.protocol.model import SOURCE_FIELDS


def test_every_source_field_is_a_field_of_its_form_and_has_a_name() -> None:
    assert set(SOURCE_FIELDS) == set(FORM_MODELS)
    for form, names in SOURCE_FIELDS.items():
        model_fields = {field.name for field in FORM_MODELS[form]._meta.get_fields()}
        for name in names:
            assert name in model_fields, (form, name)
            assert (form, name) in FIELD_LABELS, (form, name)
