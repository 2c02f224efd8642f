"""OpenAPI: a form record promises no field that blinded roles might not receive."""

from __future__ import annotations

from typing import Any

from assessments.api import schema_name
from assessments.registry import form_types

WITHHELD = "Left out for blinded roles: it would reveal the allocation."


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
        for name in ftype.revealing:
            prop = record.get("properties", {}).get(name)
            if prop is not None:
                prop["description"] = " ".join(filter(None, [prop.get("description"), WITHHELD]))
    return result
