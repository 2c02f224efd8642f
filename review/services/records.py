"""What a review mark points at, and what a change to form data voids."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db.models import QuerySet

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


def review_record_changed(*, actor: Any, record: Any, now: datetime) -> None:
    """A change to form data voids the verification and the signatures that covered it."""
    reason = f"Data changed after verification or signature (version {record.row_version})"
    verifications, signatures = review_marks_covering(record)
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
