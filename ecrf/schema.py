"""The OpenAPI schema: every operation documents the project's one error body."""

from __future__ import annotations

from typing import Any

from drf_spectacular import openapi

from ecrf.errors import ErrorOutput

# What any operation may answer besides its result.
EVERY_OPERATION = {
    400: "The input is not valid: `message` says why and `fields` names each field.",
    401: "Not signed in, or the token is unknown, expired or revoked.",
    403: "Your role does not allow this.",
    404: "No such object among those you may see.",
}
# What a write may answer besides those.
WRITES = {
    409: "Someone saved first (read it again and apply the change again), or the object is "
    "not in a state that allows this.",
    423: "The data are locked (a form, participant, site or trial lock).",
}
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class AutoSchema(openapi.AutoSchema):
    """drf-spectacular's AutoSchema, with the error answers added to every operation."""

    def get_operation(self, *args: Any, **kwargs: Any) -> Any:
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        errors = dict(EVERY_OPERATION)
        if self.method in WRITE_METHODS:
            errors.update(WRITES)
        body = self.resolve_serializer(ErrorOutput, "response").ref
        responses = operation.setdefault("responses", {})
        for code, description in errors.items():
            responses.setdefault(
                str(code),
                {"description": description, "content": {"application/json": {"schema": body}}},
            )
        return operation
