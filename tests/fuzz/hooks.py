"""schemathesis hooks of the fuzzing run: real ids in every other request, so it gets past 404."""

# In every other case the ids a request names (in its path or body) are replaced with ids of
# objects the signed-in role can see, consistent with each other (a record of that participant,
# a visit of that participant); the others keep the generated values. The choice is derived
# from the generated values, so a run stays deterministic. The ids are in the file FUZZ_IDS
# names, written by tests.fuzz.seed for the role.

from __future__ import annotations

import json
import os
import re
import zlib
from functools import cache
from pathlib import Path
from typing import Any

import schemathesis

FORM_IN_PATH = re.compile(r"/forms/(?P<code>[a-z0-9_]+)/")
# Path parameters that name one object each, and the list of ids they take.
SIMPLE = {
    "query_id": "queries",
    "alert_id": "alerts",
    "lock_id": "locks",
    "export_id": "exports",
    "release_id": "releases",
    "cohort_id": "cohorts",
}


@cache
def ids() -> dict[str, Any]:
    return dict(json.loads(Path(os.environ["FUZZ_IDS"]).read_text()))


def _pick(options: list[Any], key: int) -> Any:
    return options[key % len(options)] if options else None


@schemathesis.hook
def map_case(context: Any, case: Any) -> Any:
    path = context.operation.path
    params = dict(case.path_parameters or {})
    body = case.body if isinstance(case.body, dict) else None
    key = zlib.crc32(repr((sorted(params.items()), sorted((body or {}).items()))).encode())
    if key % 2:
        return case  # as generated: unknown ids, malformed values
    known = ids()
    participant = _pick(known["participants"], key)
    form = FORM_IN_PATH.search(path)
    form_code = form.group("code") if form and form.group("code") in known["records"] else None
    if form_code is None and ("record_id" in params or (body and "record_id" in body)):
        form_code = _pick(sorted(known["records"]), key >> 3)
    record = None
    if form_code is not None:
        of_participant = [r for p, r in known["records"][form_code] if p == participant]
        record = _pick(of_participant, key >> 5)
    visit = _pick(known["visits"].get(str(participant), []), key >> 7)
    chosen = {
        "participant_id": participant,
        "record_id": record,
        "visit_id": visit,
        "code": form_code if "{code}/{record_id}" in path else _pick(known["trials"], key >> 9),
        **{name: _pick(known[source], key >> 11) for name, source in SIMPLE.items()},
    }
    case.path_parameters = {
        name: chosen[name] if chosen.get(name) is not None else value
        for name, value in params.items()
    }
    if body is not None:
        for name, value in (
            ("visit", visit),
            ("participant", participant),
            ("record_id", record),
            ("form_code", form_code),
        ):
            if name in body and value is not None:
                body[name] = value
    return case
