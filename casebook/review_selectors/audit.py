"""The audit trail of a participant: every change in time order, filterable, as CSV."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from assessments.selectors import (
    is_unblinded,
    readable_with,
    revealing_fields,
)
from casebook.catalogue import form_types
from casebook.review_selectors.record import field_labels, model_labels
from trials.access import user_roles
from trials.models import Consent, EligibilityAnswer, Participant
from visits.models import Visit

# The audit trail ----------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditRow:
    when: datetime
    who: str  # the full name the actor had at the time (the username when none was kept)
    username: str  # the actor's username at the time
    who_id: int | None
    form_code: str
    form_label: str
    record_id: int
    visit: str
    field: str
    field_label: str
    old: Any
    new: Any
    reason: str
    kind: str  # created | changed
    # The field reveals the arm: shown to an unblinded reader only, and recorded as a read.
    revealing: bool = False

    @property
    def is_form(self) -> bool:
        """A case report form, which has a review page; not a trial record."""
        return self.form_code not in TRIAL_RECORDS


AUDIT_CSV_HEADER = (
    "when",
    "who",
    "username",
    "form_code",
    "form",
    "record_id",
    "visit",
    "field",
    "field_label",
    "old",
    "new",
    "reason",
    "kind",
)

# Fields of the trial records the audit trail follows beside the forms; none reveal the arm.
PARTICIPANT_FIELDS = (
    "status",
    "subject_id",
    "randomization_number",
    "day0",
    "screen_failure_reason",
    "end_reason",
)
VISIT_FIELDS = ("status", "target_date", "actual_date", "out_of_window", "reason")
CONSENT_FIELDS = ("form_version", "consent_date")
ELIGIBILITY_FIELDS = ("answer", "comment")
FORM_STATE_FIELDS = ("entry_status", "not_done_reason")
# Pseudo form codes for the trial records, usable as the `form_code` filter.
TRIAL_RECORDS = ("participant", "visit", "consent", "eligibility")


def _bound(value: date | datetime | None, tz: str, *, end: bool) -> datetime | None:
    """A datetime as given; a date as the start (or, for `end`, the end) of that day at the
    site. The end of the calendar's last day is no bound: the day after it does not exist."""
    if value is None or isinstance(value, datetime):
        return value
    if end and value == date.max:
        return None
    day = value + timedelta(days=1) if end else value
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(tz))


def _given(value: Any, *, skip_false: bool) -> bool:
    """A value worth a row at creation: not empty (with `skip_false`, not an unticked box)."""
    if value is None or (skip_false and value is False):
        return False
    return not (isinstance(value, str | list | dict) and not value)


def _changed(before: Any, record: Any, names: list[str], *, skip_false: bool) -> list[str]:
    """The fields `record` changed from `before`; at creation (no `before`), those given."""
    if before is None:
        return [name for name in names if _given(getattr(record, name), skip_false=skip_false)]
    return [name for name in names if getattr(before, name) != getattr(record, name)]


def _diff(
    records: Iterable[Any],
    names: list[str],
    *,
    form_code: str,
    form_label: Any,
    labels: dict[str, str],
    visits: dict[int, str],
    skip_false: bool = False,
    revealing: frozenset[str] = frozenset(),
) -> list[AuditRow]:
    """Rows for each change between consecutive history records of the same row; a creation
    lists the values given (with `skip_false`, not the unticked boxes either)."""
    rows: list[AuditRow] = []
    previous: dict[int, Any] = {}
    for record in records:
        before = previous.get(record.id)
        previous[record.id] = record
        if record.history_type == "-":
            continue
        changed = _changed(before, record, names, skip_false=skip_false)
        if before is not None and not changed:
            continue
        visit_id = getattr(record, "visit_id", None) or (
            record.id if form_code == "visit" else None
        )
        base = {
            "when": record.history_date,
            "who": record.history_user_full_name or record.history_username,
            "username": record.history_username,
            "who_id": record.history_user_id,
            "form_code": form_code,
            "form_label": str(form_label(record) if callable(form_label) else form_label),
            "record_id": record.id,
            "visit": visits.get(visit_id, "") if visit_id else "",
            "reason": record.history_change_reason or "",
            "kind": "created" if before is None else "changed",
        }
        if not changed:
            # A creation that touched only fields this reader may not see: who and when stay.
            rows.append(AuditRow(field="", field_label="", old=None, new=None, **base))
        for name in changed:
            rows.append(
                AuditRow(
                    field=name,
                    field_label=labels.get(name, name),
                    old=getattr(before, name) if before is not None else None,
                    new=getattr(record, name),
                    revealing=name in revealing,
                    **base,
                )
            )
    return rows


def _form_rows(
    participant: Participant,
    visits: dict[int, str],
    form_code: str | None,
    *,
    roles: set[str],
    unblinded: bool,
    before: Q,
) -> list[AuditRow]:
    """Rows of every form type the roles read (only `form_code`, when given); the fields that
    reveal the arm are left out unless the reader is unblinded."""
    rows: list[AuditRow] = []
    for code, ftype in form_types().items():
        if form_code and code != form_code:
            continue
        if not readable_with(set(roles), ftype):
            continue
        revealing = frozenset(revealing_fields(ftype, participant))
        hidden = set() if unblinded else revealing
        names = [
            name
            for name in (*ftype.fields, *ftype.derived, *FORM_STATE_FIELDS)
            if name not in hidden
        ]
        history = ftype.model.history.filter(before, participant_id=participant.pk).order_by(
            "id", "history_date", "history_id"
        )
        rows += _diff(
            history,
            names,
            form_code=code,
            form_label=ftype.label,
            labels=field_labels(ftype),
            visits=visits,
            # As the form's own history: an unticked box is not worth a row at creation.
            skip_false=True,
            revealing=revealing,
        )
    return rows


# The trial records followed beside the forms: (pseudo form code, model, the lookup of the
# participant's id on its history, fields, label: a text or a function of the history record).
TRIAL_RECORD_HISTORIES: tuple[tuple[str, Any, str, tuple[str, ...], Any], ...] = (
    ("participant", Participant, "id", PARTICIPANT_FIELDS, _("Participant")),
    ("visit", Visit, "participant_id", VISIT_FIELDS, _("Visit")),
    ("consent", Consent, "participant_id", CONSENT_FIELDS, _("Consent")),
    (
        "eligibility",
        EligibilityAnswer,
        "participant_id",
        ELIGIBILITY_FIELDS,
        lambda r: _("Eligibility %(code)s") % {"code": r.criterion_code},
    ),
)


def _trial_record_rows(
    participant: Participant, visits: dict[int, str], form_code: str | None, *, before: Q
) -> list[AuditRow]:
    """Rows of the participant's own record, visits, consent and eligibility answers (only
    `form_code`, when given)."""
    rows: list[AuditRow] = []
    for code, model, owner, tracked, label in TRIAL_RECORD_HISTORIES:
        if form_code and code != form_code:
            continue
        rows += _diff(
            model.history.filter(before, **{owner: participant.pk}).order_by(
                "id", "history_date", "history_id"
            ),
            list(tracked),
            form_code=code,
            form_label=label,
            labels=model_labels(model),
            visits=visits,
        )
    return rows


def _by_person(rows: list[AuditRow], user_filter: Any) -> list[AuditRow]:
    """The rows of one person: a user or a user id, or else a username or full name."""
    if user_filter in (None, ""):
        return rows
    wanted = str(getattr(user_filter, "pk", user_filter))
    return [
        r
        for r in rows
        if str(r.who_id) == wanted
        or (not wanted.isdigit() and wanted.casefold() in (r.who.casefold(), r.username.casefold()))
    ]


def audit_trail(
    user: Any,
    participant: Participant,
    *,
    form_code: str | None = None,
    user_filter: Any = None,
    since: date | datetime | None = None,
    until: date | datetime | None = None,
) -> list[AuditRow]:
    """Every change to the participant's forms, visits, consent and eligibility answers, in
    time order: who, when, what, old -> new and why. Allocation-revealing fields are left out
    for readers the blinding gate keeps blind (their rows are marked `revealing` for the
    others, whose read is recorded); forms the user's role does not read are left out whole.

    One query per form type and per trial record, whatever the number of changes; dates are
    whole days at the site, `until` included. The trail of one participant is built whole
    (each change is the difference from the one before it); pages cut it afterwards.
    """
    roles = user_roles(user, participant.trial, participant.site)
    unblinded = is_unblinded(user, participant)
    visits = dict(
        Visit.objects.filter(participant=participant).values_list("pk", "code").order_by()
    )
    tz = participant.site.time_zone
    start, end = _bound(since, tz, end=False), _bound(until, tz, end=True)
    # A change is compared with the one before it, never after: the end is read in the
    # database, the start once each change has its previous values.
    before = Q() if end is None else Q(history_date__lt=end)
    rows = _form_rows(
        participant, visits, form_code, roles=roles, unblinded=unblinded, before=before
    )
    rows += _trial_record_rows(participant, visits, form_code, before=before)
    rows = [
        r
        for r in _by_person(rows, user_filter)
        if (start is None or r.when >= start) and (end is None or r.when < end)
    ]
    # Stable: changes made together keep their form and field order.
    return sorted(rows, key=lambda r: r.when)


def audit_value(value: Any, zone: tzinfo | None = None) -> str:
    """A value as one CSV cell: ISO dates (an instant on the clock of `zone`, the current
    one unless given), true/false, JSON for lists, empty for nothing."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime) and timezone.is_aware(value):
        return timezone.localtime(value, zone).isoformat()
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal | int | float):
        return str(value)
    if isinstance(value, list | dict):
        return json.dumps(value, sort_keys=True, default=str)
    return str(value)


def _cell(text: str) -> str:
    # A leading =, +, - or @ makes a spreadsheet run the cell as a formula.
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        try:
            float(text)
        except ValueError:
            return f"'{text}"
    return text


class _Line:
    """What csv.writer writes to: the line it was given."""

    def write(self, text: str) -> str:
        return text


def audit_trail_csv_lines(rows: Iterable[AuditRow], zone: tzinfo | None = None) -> Iterator[str]:
    """The audit trail rows as CSV lines, the header first, one at a time (for a streamed
    download); times on the clock of `zone` (the current one, the participant's site, unless
    given: a stream is written after the view returns), each with its offset."""
    zone = zone or timezone.get_current_timezone()
    writer = csv.writer(_Line())
    yield writer.writerow(AUDIT_CSV_HEADER)
    for r in rows:
        yield writer.writerow(
            [
                _cell(cell)
                for cell in (
                    timezone.localtime(r.when, zone).isoformat(),
                    r.who,
                    r.username,
                    r.form_code,
                    r.form_label,
                    str(r.record_id),
                    r.visit,
                    r.field,
                    r.field_label,
                    audit_value(r.old, zone),
                    audit_value(r.new, zone),
                    r.reason,
                    r.kind,
                )
            ]
        )


def audit_trail_csv(rows: Iterable[AuditRow]) -> str:
    """The audit trail rows as CSV, with a header line; times on the current clock (the
    participant's site), each with its offset."""
    return "".join(audit_trail_csv_lines(rows))
