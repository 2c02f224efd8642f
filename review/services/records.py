"""What a review mark points at, and what a change to form data voids."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.models import BooleanField, QuerySet
from django.db.models.expressions import RawSQL

from ecrf.audit import audited_save
from review.models import Signature, SignatureScope, SourceVerification


def _record_ref(record: Any) -> dict[str, Any]:
    return {
        "content_type": ContentType.objects.get_for_model(type(record)),
        "object_id": record.pk,
    }


def review_marks_covering(record: Any) -> tuple[QuerySet[SourceVerification], QuerySet[Signature]]:
    """The current verification of `record` and the current signatures that cover it: of the
    form, of its visit, of the casebook. A change to the record voids them."""
    ref = _record_ref(record)
    verifications = SourceVerification.objects.filter(voided_at__isnull=True, **ref)
    signatures = Signature.objects.filter(
        participant_id=record.participant_id, voided_at__isnull=True
    )
    covering = signatures.filter(scope=SignatureScope.CASEBOOK) | signatures.filter(
        scope=SignatureScope.FORM, **ref
    )
    if getattr(record, "visit_id", None):
        covering = covering | signatures.filter(
            scope=SignatureScope.VISIT, visit_id=record.visit_id
        )
    return verifications, covering


def review_marks_of_records(participant_id: int, model: type[Any]) -> RawSQL:
    """For a query of a participant's records of `model`: whether a current verification or
    signature covers the record (the marks `review_marks_covering` finds), looked for in the
    query that reads the record, in SQL written once per model (tested against
    `review_marks_covering`)."""
    content_type = ContentType.objects.get_for_model(model).pk
    params: tuple[Any, ...] = (
        content_type,
        participant_id,
        SignatureScope.CASEBOOK,
        SignatureScope.FORM,
        content_type,
    )
    if _at_visits(model):
        params += (SignatureScope.VISIT,)
    sql = _marks_sql(model._meta.db_table, _at_visits(model))
    return RawSQL(sql, params, output_field=BooleanField())  # noqa: S611


def _at_visits(model: type[Any]) -> bool:
    return any(field.name == "visit" for field in model._meta.concrete_fields)


@cache
def _marks_sql(table: str, at_visits: bool) -> str:
    # Table names from the models' metadata; every value is a parameter.
    record = connection.ops.quote_name(table)
    visit = f" OR (s.scope = %s AND s.visit_id = {record}.visit_id)" if at_visits else ""
    return (
        f"EXISTS (SELECT 1 FROM {SourceVerification._meta.db_table} v"  # noqa: S608
        f" WHERE v.content_type_id = %s AND v.object_id = {record}.id AND v.voided_at IS NULL)"
        f" OR EXISTS (SELECT 1 FROM {Signature._meta.db_table} s"
        " WHERE s.participant_id = %s AND s.voided_at IS NULL AND (s.scope = %s"
        f" OR (s.scope = %s AND s.content_type_id = %s AND s.object_id = {record}.id){visit}))"
    )


def review_record_changed(
    *, actor: Any, record: Any, now: datetime, marked: bool | None = None
) -> None:
    """A change to form data voids the verification and the signatures that covered it.
    `marked` is what the caller found with `review_marks_of_records` when it read and locked
    the record in this transaction: False is not looked for again."""
    if marked is False:
        return
    reason = f"Data changed after verification or signature (version {record.row_version})"
    verifications, signatures = review_marks_covering(record)
    if marked is None:
        # Most changes find nothing to void: one look at both tables before locking any row.
        marks = verifications.values_list("pk").union(signatures.values_list("pk"), all=True)
        if not marks.exists():
            return
    for sdv in verifications.select_for_update():
        sdv.voided_at, sdv.void_reason = now, reason
        audited_save(sdv, actor=actor, reason=reason)
    for signature in signatures.select_for_update():
        signature.voided_at, signature.void_reason = now, reason
        audited_save(signature, actor=actor, reason=reason)
