"""The state of history-tracked models as it stood at an instant, read from their history tables."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from django.db import models
from django.db.models import Exists, OuterRef, Q, QuerySet

# Rows fetched per database round trip when streaming; memory stays at about this many rows.
CHUNK_SIZE = 2000


def history_model(model: type[models.Model]) -> Any:
    """The simple-history model that records every version of `model`."""
    manager = getattr(model, "history", None)
    if manager is None:
        raise TypeError(f"{model.__name__} keeps no history; it cannot be read as of an instant.")
    return manager.model


def as_of(model: type[models.Model], instant: datetime) -> QuerySet[Any]:
    """One historical row per object of `model`: its latest version recorded at or before
    `instant`, unless that version is a deletion. Objects created after `instant` are absent.

    Versions recorded in the same instant are told apart by their history id, the order in
    which they were written. The query is a NOT EXISTS over the same table (no window
    functions), so it runs alike on SQLite and PostgreSQL, and callers stream it with
    `stream()` rather than loading it whole.
    """
    historical = history_model(model)
    pk_name = model._meta.pk.attname
    recorded = historical._default_manager.filter(history_date__lte=instant)
    later = recorded.filter(
        Q(history_date__gt=OuterRef("history_date"))
        | Q(history_date=OuterRef("history_date"), history_id__gt=OuterRef("history_id")),
        **{pk_name: OuterRef(pk_name)},
    )
    return recorded.filter(~Exists(later)).exclude(history_type="-")


def stream(queryset: QuerySet[Any], *, chunk_size: int = CHUNK_SIZE) -> Iterator[Any]:
    """Iterate a queryset in chunks (a server-side cursor on PostgreSQL) without caching it."""
    return queryset.iterator(chunk_size=chunk_size)


def state_of(model: type[models.Model], pk: Any, instant: datetime) -> Any | None:
    """The version of one object at `instant`, or None when it did not exist (or was deleted)."""
    return as_of(model, instant).filter(**{model._meta.pk.attname: pk}).first()


def batched(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    """Consecutive lists of at most `size` items."""
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
