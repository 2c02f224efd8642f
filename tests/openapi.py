"""Check a response of the Django test client against the project's OpenAPI schema, with the
same validation schemathesis applies (status code documented, body matching its schema)."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import requests
import schemathesis
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from schemathesis.core.transport import Response


@cache
def openapi() -> dict[str, Any]:
    """The schema /api/schema/ serves, as plain JSON."""
    generated = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(generated))


def assert_conforms(response: Any, method: str, path: str) -> None:
    """Raise when `response` (to `method` on the schema's `path` template) is not what the
    schema says that operation answers."""
    operation = schemathesis.openapi.from_dict(openapi())[path][method.upper()]
    request = requests.Request(method.upper(), f"http://testserver{path}").prepare()
    operation.validate_response(
        Response(
            status_code=response.status_code,
            headers={key.lower(): [value] for key, value in response.headers.items()},
            content=response.content,
            request=request,
            elapsed=0.0,
            verify=False,
        )
    )
