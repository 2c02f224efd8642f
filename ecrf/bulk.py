"""Set-based writes for jobs: rows inserted or changed by one statement, with their history."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import EmptyResultSet, ImproperlyConfigured
from django.db import connections
from django.db.models import NOT_PROVIDED, BooleanField, F, Func, Model, QuerySet, Value
from django.db.models.fields import AutoFieldMixin
from django.db.models.sql import UpdateQuery

from ecrf.history import actor_names

# The stamp of a history row: the columns a set-based insert fills from its `Stamp` (when, why,
# what kind of change, who and the actor's names), not from the row. Every other column of a
# history table is a copy of the row's own column of the same name.
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

    def values(self, history_type: str) -> dict[str, Any]:
        """The value of each stamp column (`HISTORY_FIELDS`) for a change of `history_type`."""
        username, full_name = actor_names(self.actor)
        return {
            "history_date": self.now,
            "history_change_reason": self.reason,
            "history_type": history_type,
            "history_user_id": self.actor.pk,
            "history_username": username,
            "history_user_full_name": full_name,
        }

    def params(self, history_type: str) -> list[Any]:
        """The stamp's values in the order of `HISTORY_FIELDS`."""
        values = self.values(history_type)
        return [values[column] for column in HISTORY_FIELDS]


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
    """The columns a model's history table copies from the model's own table: every concrete
    field of the history model but its key and the stamp's (`HISTORY_FIELDS`). A history
    table without a stamp column, or with a column the row has not, is refused: the copy
    would fail or leave it empty."""
    history = model.history.model  # type: ignore[attr-defined]
    fields = history._meta.concrete_fields
    if missing := set(HISTORY_FIELDS) - {field.column for field in fields}:
        raise ImproperlyConfigured(f"{history._meta.label} has no fields {sorted(missing)}.")
    copied = [
        str(field.column)
        for field in fields
        if not field.primary_key and field.column not in HISTORY_FIELDS
    ]
    own = {field.column for field in model._meta.concrete_fields}
    if other := [column for column in copied if column not in own]:
        # A history field this copy would leave empty: write the rows one by one instead.
        raise ImproperlyConfigured(f"{history._meta.label} has fields {sorted(other)}.")
    return copied


def history_insert_columns(model: type[Model]) -> list[str]:
    """Every column the set-based insert of `model`'s history rows names: the copied ones,
    then the stamp's."""
    return [*history_columns(model), *HISTORY_FIELDS]


def history_columns_left_empty(model: type[Model], columns: Iterable[str]) -> list[str]:
    """The columns of `model`'s history table that an insert naming only `columns` leaves to
    the database, and that the database cannot fill: not null, without a database default and
    not the generated key. (A field's `default` is Django's, not the database's: a raw insert
    that leaves it out gets no value.)"""
    named = set(columns)
    history = model.history.model  # type: ignore[attr-defined]
    return [
        str(field.column)
        for field in history._meta.concrete_fields
        if field.column not in named
        and not field.null
        and field.db_default is NOT_PROVIDED
        and not (field.primary_key and isinstance(field, AutoFieldMixin))
    ]


def history_copy_sql(
    model: type[Model], source: str, stamps: Mapping[str, str], *, using: str = "default"
) -> str:
    """`INSERT … SELECT` of `model`'s history rows from `source` (its table, or a CTE of its
    rows): the copied columns from the rows, each stamp column (`HISTORY_FIELDS`) from the SQL
    expression `stamps` gives it (a parameter placeholder, say). No other column is written."""
    if set(stamps) != set(HISTORY_FIELDS):
        raise ValueError(f"Give the stamp columns {list(HISTORY_FIELDS)}, not {sorted(stamps)}.")
    quote = connections[using].ops.quote_name
    history = model.history.model  # type: ignore[attr-defined]
    columns = [quote(column) for column in history_insert_columns(model)]
    copied = columns[: -len(HISTORY_FIELDS)]
    values = ", ".join([*copied, *(stamps[column] for column in HISTORY_FIELDS)])
    table = quote(history._meta.db_table)
    # Names from the model, values as parameters or the caller's expressions.
    return f"INSERT INTO {table} ({', '.join(columns)}) SELECT {values} FROM {source}"  # noqa: S608


def _history_sql(model: type[Model], source: str, using: str) -> str:
    """`INSERT … SELECT` of history rows from `source` (a table or CTE of `model` rows); the
    stamp's parameters follow, in the order of `HISTORY_FIELDS` (`Stamp.params`)."""
    return history_copy_sql(model, source, dict.fromkeys(HISTORY_FIELDS, "%s"), using=using)


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
