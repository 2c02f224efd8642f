"""Every version of every row the bulk path writes, as simple-history would have recorded each
save, written with one statement per model and kind of change."""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from django.db import models

from accounts.models import User

BATCH = 500
INITIAL = "Initial entry"
# Foreign keys to rows created in the same chunk: known only once those rows are inserted.
LINKS = ("participant_id", "visit_id", "object_id")


@dataclass
class Version:
    obj: Any
    kind: str
    at: datetime
    user: User
    reason: str
    values: dict[str, Any]
    seq: int


class History:
    """Every version of every row, as simple-history would have recorded each save."""

    def __init__(self) -> None:
        self.pending: dict[type[models.Model], list[Version]] = defaultdict(list)
        self.seq = itertools.count()

    def add(self, obj: Any, kind: str, at: datetime, user: User, reason: str) -> None:
        values = {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}
        self.pending[type(obj)].append(Version(obj, kind, at, user, reason, values, next(self.seq)))

    def flush(self, model: type[models.Model]) -> None:
        versions = sorted(self.pending.pop(model, []), key=lambda v: (v.at, v.seq))
        pk = model._meta.pk.attname  # type: ignore[union-attr]
        # Creations first: a row's later versions then have the higher history ids.
        for kind, update in (("+", False), ("~", True)):
            rows = []
            for version in versions:
                if version.kind != kind:
                    continue
                values = dict(version.values)
                for name in LINKS:
                    if name in values:
                        values[name] = getattr(version.obj, name)
                values[pk] = version.obj.pk
                rows.append(
                    SimpleNamespace(
                        **values,
                        _history_date=version.at,
                        _history_user=version.user,
                        _change_reason=version.reason,
                    )
                )
            if rows:
                model.history.bulk_history_create(  # type: ignore[attr-defined]
                    rows, batch_size=BATCH, update=update
                )
