"""The forms of a chunk of plans: what `form_save` does, on the rows in memory, checked and
derived by the form types' own rules, with the deviation drafts of visits out of their window
and the automatic queries of the warnings kept."""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models

from accounts.models import User
from assessments.deviations import DRAFTED
from assessments.forms_kit import FormType
from assessments.models import (
    ConcomitantMedication,
    EndOfStudy,
    EntryStatus,
    Infusion,
    LabResults,
    MedicalHistory,
    PregnancyTest,
    ProtocolDeviation,
    RenalAssessment,
    SledaiAssessment,
    VitalSigns,
)
from assessments.models.deviation import DeviationCategory, DeviationState, Origin
from assessments.rules.base import FormContext
from assessments.rules.labs import LABS
from assessments.rules.renal import RENAL, RESPONSE_FIELDS, response_values
from assessments.rules.sledai import SLEDAI
from assessments.services import form_checks
from assessments.services.visits import out_of_window_text
from casebook.catalogue import form_type
from demo.synthetic.bulk_history import BATCH, INITIAL, History
from demo.synthetic.bulk_people import Person, actor_of
from demo.synthetic.plan import SyntheticError, TrialContext
from ecrf.messages import Text, stored_fields
from ecrf.site_time import local_date
from review.models import DataQuery, QueryAction, QueryMessage, QueryStatus
from review.services.queries import (
    AUTOMATIC_ROLE,
    CLOSED_BY_CHECK,
    automatic_query,
    automatic_query_key,
)
from safety.models import AdverseEvent
from trials.models import Participant

FORM_MODELS: tuple[type[models.Model], ...] = (
    MedicalHistory,
    SledaiAssessment,
    RenalAssessment,
    LabResults,
    VitalSigns,
    PregnancyTest,
    Infusion,
    ConcomitantMedication,
    AdverseEvent,
    ProtocolDeviation,
    EndOfStudy,
)


def entered_record(person: Person, code: str, visit: Any) -> Any:
    """The entered record of a once-per-visit form of `person` at `visit`, held in memory."""
    record = person.records.get(f"{code}@{visit.code}")
    if record is None or record.entry_status != EntryStatus.ENTERED:
        return None
    return record


class FormRows:
    """Every form entry of the chunk's people, then the rows and their history in bulk."""

    def __init__(self, ctx: TrialContext, history: History, people: list[Person]) -> None:
        self.ctx = ctx
        self.history = history
        self.people = people
        self.warned: list[tuple[str, Any, dict[str, Any], datetime]] = []
        # Warnings a later save no longer raises: their automatic queries are closed then.
        self.settled: list[tuple[str, Any, dict[str, Any], datetime]] = []
        self.dirty: list[Any] = []

    def write(self) -> None:
        deferred: list[tuple[Person, Any]] = []
        # An adverse event reads the infusions (whether it is a dose-limiting toxicity).
        events_last: list[tuple[Person, Any]] = []
        for person in self.people:
            self.drafts(person)
            later: set[str] = set()
            for event in person.forms:
                if event.form == "adverse_events":
                    events_last.append((person, event))
                elif self.post_day0_renal(person, event, later):
                    deferred.append((person, event))
                else:
                    self.form(person, event)
        flushed = self.flush_forms(FORM_MODELS)
        for person, event in deferred:
            self.form(person, event)
        flushed = self.flush_forms((Infusion, RenalAssessment, SledaiAssessment), flushed=flushed)
        for person, event in events_last:
            self.form(person, event)
        self.flush_forms((AdverseEvent,), flushed=flushed)
        self.flush_queries()

    def state(self, person: Person, at: datetime) -> Participant:
        """The participant as the service would have read it at `at`."""
        values = next(values for when, values in reversed(person.states) if when <= at)
        state = copy.copy(person.p)
        state.__dict__.update({k: v for k, v in values.items() if k != "id"})
        return state

    def drafts(self, person: Person) -> None:
        """The deviation a visit recorded out of its window drafts."""
        for visit, at, user in person.drafts:
            draft = ProtocolDeviation(
                participant=person.p,
                visit=visit,
                protocol_version_id=visit.protocol_version_id,
                entered_at=at,
                updated_at=at,
                occurred_on=visit.actual_date,
                category=DeviationCategory.VISIT_WINDOW,
                **stored_fields("description", out_of_window_text(visit)),
                origin=Origin.AUTOMATIC,
                state=DeviationState.DRAFT,
                source_key=f"visit_window:{visit.pk}",
            )
            person.records[f"auto:visit_window:{visit.code}"] = draft
            self.history.add(draft, "+", at, user, DRAFTED)

    def post_day0_renal(self, person: Person, event: Any, later: set[str]) -> bool:
        """Responses of assessments from Day 0 on read the baseline and the medication log
        from the database, so they are derived once those rows are in; so are their changes.
        An infusion reads the pregnancy tests from the database: it is checked after them.
        The SLEDAI-2K of such a visit, entered after its assessment, waits with it: it is
        checked against the visit's results as they stood when it was saved, and a later
        correction of the assessment checks it again, in that order."""
        if event.form == "infusion":
            return True
        if event.form == SLEDAI.code:
            return f"renal@{event.visit}" in later
        if event.form != "renal":
            return False
        key = f"renal@{event.visit}"
        if key in later:
            return True
        day0 = self.state(person, event.at).day0
        day = event.data.get("assessment_date")
        if day0 is not None and day is not None and day >= day0:
            later.add(key)
            return True
        return False

    def form(self, person: Person, event: Any) -> None:
        """What `form_save` does, on the row in memory."""
        ftype = form_type(event.form)
        visit = person.visits[event.visit] if event.visit else None
        if event.key:
            key = event.key
        elif ftype.scope == "visit":
            key = f"{ftype.code}@{event.visit}"
        else:
            key = ftype.code
        existing = person.records.get(key)
        stored = {name: getattr(existing, name) for name in ftype.fields} if existing else {}
        state = self.state(person, event.at)
        at = event.at
        if existing is None:
            version = visit.protocol_version_id if visit else person.p.protocol_version_id
            instance = ftype.model(
                participant=state,
                visit=visit,
                protocol_version_id=version,
                entered_at=at,
                row_version=1,
            )
        else:
            instance = existing
            instance.row_version += 1
            instance.participant = state
        for name, value in event.data.items():
            setattr(instance, name, value)
        role = "system" if event.actor == "system" else event.actor
        ctx = FormContext(
            participant=state,
            visit=visit,
            definition=self.ctx.definition,
            now=at,
            consent_date=person.consent_date,
            actor_roles=frozenset({role}),
            records=lambda code, at_visit: entered_record(person, code, at_visit),
            stored=stored,
        )
        checks = form_checks(ftype, instance, ctx)
        if checks.errors:
            raise SyntheticError(
                f"{ftype.label} of {person.plan.screening_number} at {at:%Y-%m-%d %H:%M} was "
                f"refused: {checks.errors}"
            )
        ftype.derive(instance, ctx)
        instance.warnings = checks.warnings
        instance.entry_status = EntryStatus.ENTERED
        instance.not_done_reason = ""
        instance.updated_at = at
        instance.clean_fields(exclude=[f.name for f in instance._meta.fields if f.is_relation])
        user = actor_of(self.ctx, person, event.actor)
        self.history.add(
            instance, "+" if existing is None else "~", at, user, event.reason.strip() or INITIAL
        )
        if existing is None:
            person.records[key] = instance
            if ftype.code == "renal":
                person.renal.append(instance)
        self.after_save(person, ftype, instance, state, at, user)
        for warning in instance.warnings:
            self.warned.append((ftype.code, instance, warning, at))
        if ftype.code in (LABS.code, RENAL.code) and visit is not None:
            self.sledai_recheck(person, visit, ctx, at)

    def sledai_recheck(self, person: Person, visit: Any, ctx: FormContext, at: datetime) -> None:
        """What `sledai_recheck` does after a laboratory or renal save: the visit's SLEDAI-2K
        keeps the warnings of its checks run again (no new version), each one an automatic
        query."""
        record = entered_record(person, SLEDAI.code, visit)
        if record is None:
            return
        checks = form_checks(SLEDAI, record, ctx)
        if checks.errors or checks.warnings == (record.warnings or []):
            return
        # A correction of the results (a urine WBC count, say) changes or silences a warning:
        # the service closes its query as the check no longer fires, and opens one for the
        # warning in its new words.
        for warning in record.warnings or []:
            if warning not in checks.warnings:
                self.settled.append((SLEDAI.code, record, warning, at))
        record.warnings = checks.warnings
        if record.pk is not None:
            # Already written (a renal assessment deferred past the first flush).
            type(record).objects.filter(pk=record.pk).update(warnings=checks.warnings)
        for warning in checks.warnings:
            self.warned.append((SLEDAI.code, record, warning, at))

    def after_save(
        self,
        person: Person,
        ftype: FormType,
        instance: Any,
        state: Participant,
        at: datetime,
        user: User,
    ) -> None:
        if ftype.code == "infusion" and instance.given and instance.start_time is not None:
            day = local_date(instance.start_time, person.plan.site.time_zone)
            if instance.visit.actual_date != day:
                raise SyntheticError("An infusion must be planned on the day of its visit.")
        if ftype.code not in ("renal", "conmed"):
            return
        reason = (
            "Recomputed: baseline changed"
            if ftype.code == "renal"
            else "Recomputed: concomitant medication changed"
        )
        for other in person.renal:
            if other is instance or other.entry_status != EntryStatus.ENTERED:
                continue
            day = other.assessment_date
            # From Day 0 on, a later save never changes an earlier response in these plans
            # (baseline never corrected, medication entered before the assessment of its
            # visit); the equivalence tests hold the bulk path to that.
            if day is None or (state.day0 is not None and day >= state.day0):
                continue
            other.participant = state
            values = response_values(other, self.ctx.definition)
            if all(getattr(other, name) == value for name, value in values.items()):
                continue
            for name, value in values.items():
                setattr(other, name, value)
            other.row_version += 1
            other.updated_at = at
            self.history.add(other, "~", at, user, reason)
            if other.pk is not None:
                self.dirty.append(other)

    def flush_forms(
        self, models_: tuple[type[models.Model], ...], flushed: set[int] | None = None
    ) -> set[int]:
        done = set(flushed or ())
        for model in models_:
            rows = []
            for person in self.people:
                for instance in person.records.values():
                    if type(instance) is model and id(instance) not in done:
                        rows.append(instance)
                        done.add(id(instance))
            model.objects.bulk_create(rows, batch_size=BATCH)  # type: ignore[attr-defined]
            self.history.flush(model)
        if self.dirty:
            RenalAssessment.objects.bulk_update(
                self.dirty, [*RESPONSE_FIELDS, "row_version", "updated_at"], batch_size=BATCH
            )
            self.dirty = []
        return done

    def flush_queries(self) -> None:
        """Every warning kept on a form is an automatic query, once, as the services raise it."""
        system = self.ctx.staff.system
        seen: set[str] = set()
        queries, messages = [], []
        types: dict[type[models.Model], ContentType] = {}
        for form_code, record, warning, at in self.warned:
            key = automatic_query_key(form_code, record, warning)
            if key in seen:
                continue
            seen.add(key)
            model = type(record)
            if model not in types:
                types[model] = ContentType.objects.get_for_model(model)
            query = automatic_query(
                form_code=form_code,
                record=record,
                warning=warning,
                actor=system,
                now=at,
                content_type=types[model],
            )
            queries.append(query)
            self.history.add(query, "+", at, system, INITIAL)
            messages.append(
                QueryMessage(
                    query=query,
                    action=QueryAction.OPEN,
                    actor=system,
                    role="system",
                    text=query.text,
                    text_template=query.text_template,
                    text_params=query.text_params,
                    at=at,
                )
            )
        last_raised = {
            automatic_query_key(code, record, warning): at
            for code, record, warning, at in sorted(self.warned, key=lambda row: row[3])
        }
        messages += self.close_settled({q.source_key: q for q in queries}, last_raised)
        DataQuery.objects.bulk_create(queries, batch_size=BATCH)
        QueryMessage.objects.bulk_create(messages, batch_size=BATCH)
        self.history.flush(DataQuery)

    def close_settled(
        self, queries: dict[str, DataQuery], last_raised: dict[str, datetime]
    ) -> list[QueryMessage]:
        """What `_automatic_queries_settle` does when a recheck no longer raises a warning:
        the query is closed by the system, linked to the form's version then. A warning
        raised again after its query closed would re-open it, which these plans never do."""
        system = self.ctx.staff.system
        messages = []
        for code, record, warning, at in sorted(self.settled, key=lambda row: row[3]):
            query = queries[automatic_query_key(code, record, warning)]
            if query.status == QueryStatus.CLOSED:
                continue
            if last_raised[query.source_key] > at:
                raise SyntheticError("The bulk path does not re-open a query a check closed.")
            query.status = QueryStatus.CLOSED
            query.closed_at = at
            query.correction_history_id = (
                type(record)
                .history.filter(id=record.pk, history_date__lte=at)  # type: ignore[attr-defined]
                .order_by("-history_id")
                .values_list("history_id", flat=True)
                .first()
            )
            text = Text(CLOSED_BY_CHECK)
            messages.append(
                QueryMessage(
                    query=query,
                    action=QueryAction.CLOSE,
                    actor=system,
                    role=AUTOMATIC_ROLE,
                    text=text.english,
                    text_template=text.template,
                    text_params=text.params,
                    at=at,
                )
            )
            self.history.add(query, "~", at, system, CLOSED_BY_CHECK)
        return messages
