"""OpenAPI of the forms API: each form route listed once per form with that form's own bodies,
and no field that blinded roles might not receive marked required."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers

from assessments.forms_kit import FormType
from casebook.catalogue import form_types
from casebook.forms_serializers import (
    FormChangeInput,
    FormCreateInput,
    FormNotDoneInput,
    FormRecord,
    serializers_of,
)
from ecrf.schema import AutoSchema
from trials.site_zone import TIME_ZONE_HEADER

FORM_CODE = "form_code"
TIME_ZONE_PARAMETER = OpenApiParameter(
    TIME_ZONE_HEADER,
    str,
    OpenApiParameter.HEADER,
    response=True,
    description=(
        "The IANA time zone of the participant's site, e.g. Europe/Madrid. A date-time sent "
        "without an offset is read as a time on that site's clock (refused when the clocks "
        "skipped it or showed it twice that night: send it with its offset); one with an "
        "offset is taken as given. Date-times are answered with that zone's offset."
    ),
)
WITHHELD = "Left out for blinded roles: it would reveal the allocation."
BLANK = {"type": "string", "enum": [""], "description": "Not worked out (yet)."}


def one_route_per_form(endpoints: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """A drf-spectacular preprocessing hook. A form route takes the form's code as a path
    parameter; the schema lists it once per form, with the code in the path, so that each
    form's operations say what that form takes and answers."""
    listed = []
    for path, path_regex, method, callback in endpoints:
        if f"{{{FORM_CODE}}}" not in path:
            listed.append((path, path_regex, method, callback))
            continue
        for code in form_types():
            listed.append(
                (
                    path.replace(f"{{{FORM_CODE}}}", code),
                    path_regex.replace(f"<slug:{FORM_CODE}>", code),
                    method,
                    callback.cls.as_view(**callback.initkwargs, documented_form=code),
                )
            )
    return listed


@dataclass(frozen=True)
class FormOperation:
    """What an operation of a form route takes and answers, for any form: FormRecord stands
    for the form's own record, FormCreateInput and FormChangeInput for its own writes."""

    summary: str
    request: Any = None
    responses: Any = None
    parameters: tuple[OpenApiParameter, ...] = ()


F = TypeVar("F", bound=Callable[..., Any])


def form_operation(
    summary: str,
    *,
    request: Any = None,
    responses: Any = None,
    parameters: tuple[OpenApiParameter, ...] = (),
) -> Callable[[F], F]:
    """Document a form route's method; the summary follows the form's label."""

    def document(method: F) -> F:
        method.form_operation = FormOperation(summary, request, responses, parameters)  # type: ignore[attr-defined]
        return method

    return document


class FormOperationSchema(AutoSchema):
    """The schema of a form route's operation for the form the view documents: its tag, its
    summary, its bodies (that form's record, data and writes) and its parameters."""

    def _form(self) -> FormType:
        view: Any = self.view  # a FormView
        return form_types()[view.documented_form]

    def _operation(self) -> FormOperation:
        operation: FormOperation = getattr(self.view, self.method.lower()).form_operation
        return operation

    def get_tags(self) -> list[str]:
        return [f"forms: {self._form().label}"]

    def get_summary(self) -> str:
        return f"{self._form().label}: {self._operation().summary}"

    # drf-spectacular's signature, not the one of DRF's own schema inspector.
    def get_description(self) -> str:  # type: ignore[override]
        # The summary says it all; the views' docstrings are for their readers.
        return ""

    def get_override_parameters(self) -> list[Any]:
        return [*self._operation().parameters, TIME_ZONE_PARAMETER]

    def get_request_serializer(self) -> Any:
        return self._of_form(self._operation().request)

    def get_response_serializers(self) -> Any:
        return self._of_form(self._operation().responses)

    def get_serializer_name(self, serializer: serializers.Serializer, direction: Any) -> str:
        name = serializers_of(self._form()).name
        if isinstance(serializer, FormCreateInput):
            return f"{name}Create"
        if isinstance(serializer, FormChangeInput):
            return f"{name}Change"
        if isinstance(serializer, FormNotDoneInput):
            return f"{name}NotDone"
        return super().get_serializer_name(serializer, direction)

    def _of_form(self, body: Any) -> Any:
        ftype = self._form()
        record = serializers_of(ftype).record
        if isinstance(body, dict):
            return {code: self._of_form(item) for code, item in body.items()}
        if body is FormRecord:
            return record
        if isinstance(body, serializers.ListSerializer) and type(body.child) is FormRecord:
            return record(many=True)
        if body in (FormCreateInput, FormChangeInput):
            return body(ftype=ftype)
        return body


def withheld_fields_optional(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """A drf-spectacular postprocessing hook. The forms API leaves allocation-revealing
    fields out for blinded roles: those of the form's code, and any a protocol declares
    (blinding.allocation_revealing). So no data field of a record is required in the schema,
    and the code's revealing ones say when they are left out."""
    schemas = result.get("components", {}).get("schemas", {})
    for ftype in form_types().values():
        record = schemas.get(serializers_of(ftype).record.__name__)
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
