"""Set-based writes for jobs: rows inserted or changed by one statement, with their history."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import EmptyResultSet, ImproperlyConfigured
from django.db import connections
from django.db.models import BooleanField, F, Func, Model, QuerySet, Value
from django.db.models.sql import UpdateQuery

from ecrf.history import actor_names

HISTORY_FIELDS = (
    "history_date",
    "history_change_reason",
    "history_type",
    "history_user_id",
    "history_username",
    "history_user_full_name",
)


@dataclass(frozen=True)
class Stamp:
    """What each history row of a set-based write records: who, why and when."""

    actor: Any
    reason: str
    now: datetime

    def params(self, history_type: str) -> list[Any]:
        return [self.now, self.reason, history_type, self.actor.pk, *actor_names(self.actor)]


class Among(Func):
    """`field IN ids` for long lists of ids: one array parameter on PostgreSQL, where thousands
    of separate parameters cost more to bind than the query costs to run."""

    output_field = BooleanField()
    conditional = True

    def __init__(self, field: str, ids: Iterable[int]) -> None:
        super().__init__(F(field))
        self.ids = list(ids)

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> Any:  # type: ignore[override]
        if not self.ids:
            raise EmptyResultSet
        sql, params = compiler.compile(self.source_expressions[0])
        if connection.vendor == "postgresql":
            return f"{sql} = ANY(%s)", [*params, self.ids]
        return f"{sql} IN ({', '.join(['%s'] * len(self.ids))})", [*params, *self.ids]


def history_columns(model: type[Model]) -> list[str]:
    """The columns a model's history table copies from the model's own table."""
    own = {field.column for field in model._meta.concrete_fields}
    history = model.history.model  # type: ignore[attr-defined]
    copied = [field.column for field in history._meta.concrete_fields if field.column in own]
    other = {field.column for field in history._meta.concrete_fields if field.column not in own} - {
        "history_id",
        *HISTORY_FIELDS,
    }
    if other:
        # A history field this copy would leave empty: write the rows one by one instead.
        raise ImproperlyConfigured(f"{history._meta.label} has fields {sorted(other)}.")
    return copied


def _history_sql(model: type[Model], source: str, using: str) -> str:
    """`INSERT … SELECT` of history rows from `source` (a table or CTE of `model` rows); the
    stamp's parameters follow: date, reason, type, user and the user's names."""
    quote = connections[using].ops.quote_name
    history = model.history.model  # type: ignore[attr-defined]
    columns = ", ".join(quote(column) for column in history_columns(model))
    stamps = ", ".join(quote(column) for column in HISTORY_FIELDS)
    marks = ", ".join(["%s"] * len(HISTORY_FIELDS))
    table = quote(history._meta.db_table)
    # Names from the model, values as parameters.
    return f"INSERT INTO {table} ({columns}, {stamps}) SELECT {columns}, {marks} FROM {source}"  # noqa: S608


def _column(model: type[Model], name: str) -> str:
    field = model._meta.pk if name == "pk" else model._meta.get_field(name)
    column = getattr(field, "column", None)
    if not column:
        raise ValueError(f"{model._meta.label}.{name} is not a column.")
    return str(column)


def _write(
    model: type[Model],
    dml: str,
    params: Sequence[Any],
    *,
    stamp: Stamp,
    history_type: str,
    returning: Sequence[str],
    using: str,
) -> list[tuple[Any, ...]]:
    """Run `dml` (an INSERT or UPDATE of `model`) and write the history rows of the rows it
    wrote; the `returning` columns of those rows."""
    connection = connections[using]
    quote = connection.ops.quote_name
    pk = _column(model, "pk")
    columns = ", ".join(quote(_column(model, name)) for name in returning)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One statement: the history rows come from the rows written, without a re-read.
            cursor.execute(
                f"WITH written AS ({dml} RETURNING *) "
                f"{_history_sql(model, 'written', using)} RETURNING {columns}",
                [*params, *stamp.params(history_type)],
            )
            return list(cursor.fetchall())
        cursor.execute(f"{dml} RETURNING {quote(pk)}, {columns}", params)
        rows = cursor.fetchall()
        history_insert(
            model, [row[0] for row in rows], stamp=stamp, history_type=history_type, using=using
        )
        return [tuple(row[1:]) for row in rows]


def insert_from(
    model: type[Model],
    source: QuerySet[Any],
    values: Mapping[str, Any],
    *,
    stamp: Stamp,
    returning: Sequence[str] = ("id",),
) -> list[tuple[Any, ...]]:
    """Insert one `model` row per row of `source`, with its "+" history row, in one
    `INSERT … SELECT`: the fields named in `values` set to them (expressions over `source`'s
    model, or plain values), the others to their defaults, as a new instance would have them.

    A row that a unique constraint already holds is skipped, so inserting the same finding
    twice, or from two workers at once, leaves one row and one history row. Returns the
    `returning` fields of the rows inserted.
    """
    meta = model._meta
    names = {field.name for field in meta.concrete_fields} | {
        field.attname for field in meta.concrete_fields
    }
    if unknown := set(values) - names:
        raise ValueError(f"{meta.label} has no fields {sorted(unknown)}.")
    fields = {}
    for field in meta.concrete_fields:
        if field.primary_key:
            continue
        if field.attname in values or field.name in values:
            value = values[field.attname if field.attname in values else field.name]
        elif getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            raise ValueError(f"Give {meta.label}.{field.name}: it is set on save.")
        else:
            value = field.get_default()
        if not hasattr(value, "resolve_expression"):
            value = Value(value, output_field=field)
        fields[str(field.column)] = value
    aliases = {f"insert_{column}": value for column, value in fields.items()}
    rows = source.order_by().annotate(**aliases).values_list(*aliases)
    select, params = rows.query.sql_with_params()
    quote = connections[rows.db].ops.quote_name
    columns = ", ".join(quote(column) for column in fields)
    dml = f"INSERT INTO {quote(meta.db_table)} ({columns}) {select} ON CONFLICT DO NOTHING"
    return _write(
        model,
        dml,
        params,
        stamp=stamp,
        history_type="+",
        returning=returning,
        using=rows.db,
    )


def update_from(
    queryset: QuerySet[Any],
    values: Mapping[str, Any],
    *,
    stamp: Stamp,
    returning: Sequence[str] = ("id",),
) -> list[tuple[Any, ...]]:
    """`queryset.update(**values)` with a "~" history row per row changed, in one statement.
    The filter is checked again on each row as it is changed, so it is the compare in a
    compare-and-set: a row another transaction changed first is left alone. Returns the
    `returning` fields of the rows changed."""
    query = queryset.order_by().query.chain(UpdateQuery)
    query.add_update_values(values)  # type: ignore[attr-defined]
    dml, params = query.get_compiler(queryset.db).as_sql()
    if not dml:
        return []
    return _write(
        queryset.model,
        dml,
        params,
        stamp=stamp,
        history_type="~",
        returning=returning,
        using=queryset.db,
    )


def history_insert(
    model: type[Model],
    ids: Iterable[int],
    *,
    stamp: Stamp,
    history_type: str,
    using: str = "default",
) -> int:
    """The history rows of rows just written (`history_type` "+" created, "~" changed),
    copied from their current state in one `INSERT … SELECT`, as simple-history writes them
    one by one. Returns the number of rows written."""
    ids = list(ids)
    if not ids:
        return 0
    quote = connections[using].ops.quote_name
    pk = quote(_column(model, "pk"))
    table = quote(model._meta.db_table)
    marks = ", ".join(["%s"] * len(ids))
    with connections[using].cursor() as cursor:
        # Not PostgreSQL: there the history rows are written with the rows, by `_write`.
        cursor.execute(
            f"{_history_sql(model, table, using)} WHERE {pk} IN ({marks})",
            [*stamp.params(history_type), *ids],
        )
        return int(cursor.rowcount)
