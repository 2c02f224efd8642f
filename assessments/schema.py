"""OpenAPI: a form record's schema says what the forms API sends: no field that blinded roles
might not receive is required, and a derived choice may be blank."""

from __future__ import annotations

from typing import Any

from assessments.api import schema_name
from assessments.registry import form_types

WITHHELD = "Left out for blinded roles: it would reveal the allocation."
BLANK = {"type": "string", "enum": [""], "description": "Not worked out (yet)."}


def withheld_fields_optional(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """A drf-spectacular postprocessing hook. The forms API leaves allocation-revealing
    fields out for blinded roles: those of the form's code, and any a protocol declares
    (blinding.allocation_revealing). So no data field of a record is required in the schema,
    and the code's revealing ones say when they are left out."""
    schemas = result.get("components", {}).get("schemas", {})
    for ftype in form_types().values():
        record = schemas.get(f"{schema_name(ftype)}Record")
        if record is None:
            continue
        data_fields = {*ftype.fields, *ftype.derived}
        required = [name for name in record.get("required", []) if name not in data_fields]
        if required:
            record["required"] = required
        else:
            record.pop("required", None)
        properties = record.get("properties", {})
        for name in ftype.revealing:
            prop = properties.get(name)
            if prop is not None:
                prop["description"] = " ".join(filter(None, [prop.get("description"), WITHHELD]))
        for name in ftype.derived:
            field = ftype.model._meta.get_field(name)
            # A derived value not worked out yet is stored blank; DRF leaves a read-only
            # field's blank out of its choices, so the schema would refuse what is sent.
            if name in properties and field.choices and field.blank:
                properties[name] = {"oneOf": [properties[name], BLANK]}
    return result
