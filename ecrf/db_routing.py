"""Reads that may go to a read replica: a long read (an export) opts in with `replica_reads()`,
and its queries go to the database alias `DATABASE_REPLICA_ALIAS` names (set when
DATABASE_REPLICA_URL is). Writes, and every read outside such a block, use the primary, so a
person always reads what they have just written."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.conf import settings

_REPLICA_READS: ContextVar[bool] = ContextVar("replica_reads", default=False)
PRIMARY = "default"


def replica_alias() -> str | None:
    """The alias reads go to inside `replica_reads()`: the replica when one is configured."""
    alias: str | None = getattr(settings, "DATABASE_REPLICA_ALIAS", None)
    return alias if alias and _REPLICA_READS.get() else None


@contextmanager
def replica_reads() -> Iterator[None]:
    """Send this block's reads to the replica, when there is one; nothing changes otherwise."""
    token = _REPLICA_READS.set(True)
    try:
        yield
    finally:
        _REPLICA_READS.reset(token)


class ReplicaRouter:
    """Reads inside `replica_reads()` go to the replica; every write goes to the primary, even
    for a row read from the replica; only the primary is migrated."""

    def db_for_read(self, model: Any, **hints: Any) -> str | None:
        return replica_alias()

    def db_for_write(self, model: Any, **hints: Any) -> str:
        return PRIMARY

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        return True

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return db == PRIMARY
