"""The set-based history inserts (ecrf/bulk.py) fill every column of the history tables they
write: a field added to a history model is copied from the row, is one of the stamp's, or is
one the database fills itself; anything else fails here before a job or the demo meets it."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.db import models

from alerts.models import Alert
from assessments.models import ProtocolDeviation
from ecrf.bulk import (
    HISTORY_FIELDS,
    history_columns,
    history_columns_left_empty,
    history_copy_sql,
    history_insert_columns,
)
from trials.models import Participant
from visits.models import Visit

# The models whose history rows are written by set-based inserts: visits by the flagging job
# (`update_from`), alerts and draft deviations (`insert_from`), participants and visits by the
# demo's synthetic visits (`history_copy_sql`).
BULK_WRITTEN = [Visit, Alert, ProtocolDeviation, Participant]
# Every model with a history table: any of them may be written set-based.
HISTORICAL = [
    model for model in apps.get_models() if hasattr(getattr(model, "history", None), "model")
]


def label(model: Any) -> str:
    return str(model._meta.label)


def test_every_model_written_set_based_has_a_history_table() -> None:
    assert set(BULK_WRITTEN) <= set(HISTORICAL)


@pytest.mark.parametrize("model", HISTORICAL, ids=label)
def test_the_set_based_insert_fills_every_column_the_database_cannot(model) -> None:
    columns = history_insert_columns(model)
    assert history_columns_left_empty(model, columns) == []
    # The statement names exactly those columns, each once.
    sql = history_copy_sql(model, "source", dict.fromkeys(HISTORY_FIELDS, "%s"))
    named = sql.split("(", 1)[1].split(")", 1)[0]
    assert [name.strip().strip('"`') for name in named.split(",")] == columns
    assert len(set(columns)) == len(columns)


def with_history_fields(model: Any, fields: list[Any]) -> Any:
    """`model` as it would be if its history model had these concrete fields."""
    history = model.history.model
    meta = SimpleNamespace(
        label=history._meta.label, db_table=history._meta.db_table, concrete_fields=fields
    )
    return SimpleNamespace(
        _meta=model._meta, history=SimpleNamespace(model=SimpleNamespace(_meta=meta))
    )


def with_history_field(model: Any, field: models.Field) -> Any:
    """`model` as it would be if its history model gained `field`, named `review_note`."""
    field.set_attributes_from_name("review_note")
    return with_history_fields(model, [*model.history.model._meta.concrete_fields, field])


def test_the_check_finds_a_column_left_out_of_the_insert() -> None:
    columns = history_insert_columns(Visit)
    # A copied column, and a stamp column whose default is Django's, not the database's.
    assert history_columns_left_empty(Visit, [c for c in columns if c != "status"]) == ["status"]
    without_names = [c for c in columns if c != "history_user_full_name"]
    assert history_columns_left_empty(Visit, without_names) == ["history_user_full_name"]
    # A nullable column may be left to the database, which writes NULL.
    nullable = ["actual_date", "parent_id"]
    assert set(nullable) <= set(columns)
    assert history_columns_left_empty(Visit, [c for c in columns if c not in nullable]) == []


def test_a_history_field_the_insert_would_leave_empty_is_caught() -> None:
    required = with_history_field(Visit, models.CharField(max_length=20))
    assert history_columns_left_empty(required, history_insert_columns(Visit)) == ["review_note"]
    # The insert itself refuses it rather than write rows without it.
    with pytest.raises(ImproperlyConfigured, match="review_note"):
        history_insert_columns(required)
    with pytest.raises(ImproperlyConfigured, match="review_note"):
        history_copy_sql(required, "source", dict.fromkeys(HISTORY_FIELDS, "%s"))
    # One the database fills (NULL, or its own default) is no gap.
    for field in (
        models.CharField(max_length=20, null=True),
        models.CharField(max_length=20, db_default="none"),
    ):
        optional = with_history_field(Visit, field)
        assert history_columns_left_empty(optional, history_insert_columns(Visit)) == []


def test_a_history_table_without_a_stamp_column_is_refused() -> None:
    fields = Visit.history.model._meta.concrete_fields
    stripped = with_history_fields(
        Visit, [field for field in fields if field.column != "history_user_full_name"]
    )
    with pytest.raises(ImproperlyConfigured, match="history_user_full_name"):
        history_columns(stripped)


def test_the_stamp_expressions_must_name_every_stamp_column() -> None:
    stamps = dict.fromkeys(HISTORY_FIELDS[:-1], "%s")
    with pytest.raises(ValueError, match="history_user_full_name"):
        history_copy_sql(Visit, "source", stamps)
