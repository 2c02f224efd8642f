"""The report of a monitoring visit to one site: what was verified in the period, by whom and
when, the queries raised and where they stand, and the findings still open."""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Case, CharField, F, OuterRef, Q, Subquery, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from assessments.models import ProtocolDeviation
from assessments.models.deviation import DeviationState
from casebook.catalogue import form_types
from casebook.review_selectors.audit import _cell, _Line
from review.models import DataQuery, QueryStatus, SourceVerification
from trials.models import Site


@dataclass(frozen=True)
class VisitReport:
    site: Site
    first: date
    last: date
    # Each with the `visit_code` of its record.
    verifications: Sequence[SourceVerification]
    queries: Sequence[DataQuery]  # raised in the period
    open_queries: Sequence[DataQuery]  # unresolved now, whenever raised
    deviations: Sequence[ProtocolDeviation]  # to confirm, or confirmed in the period

    @property
    def labels(self) -> dict[str, Any]:
        return {code: ftype.label for code, ftype in form_types().items()}


def _visit_code() -> Case:
    """The visit code of the form record a review mark points at, read in the same query."""
    whens = []
    for code, ftype in form_types().items():
        model = ftype.model
        if "visit" not in {f.name for f in model._meta.get_fields()}:
            continue
        visit = model._default_manager.filter(pk=OuterRef("object_id")).values("visit__code")
        whens.append(When(form_code=code, then=Subquery(visit[:1])))
    return Case(*whens, default=Value(""), output_field=CharField())


def _bounds(site: Site, first: date, last: date) -> tuple[datetime, datetime]:
    """The period from the start of `first` to the end of `last`, on the site's clock."""
    zone = ZoneInfo(site.time_zone)
    return (
        datetime.combine(first, time(), tzinfo=zone),
        datetime.combine(last + timedelta(days=1), time(), tzinfo=zone),
    )


def monitoring_visit_report(site: Site, *, first: date, last: date) -> VisitReport:
    """The report of `site` (one the user monitors, see monitored_sites) from `first` to
    `last`, dates on the site's clock. Four queries, whatever the number of rows."""
    start, end = _bounds(site, first, last)
    verifications = list(
        SourceVerification.objects.filter(
            participant__site=site, verified_at__gte=start, verified_at__lt=end
        )
        .annotate(visit_code=_visit_code())
        .select_related("participant", "verified_by")
        .order_by("verified_at", "pk")
    )
    queries = DataQuery.objects.filter(site=site).select_related("participant", "opened_by")
    raised = list(
        queries.filter(opened_at__gte=start, opened_at__lt=end)
        .annotate(visit_code=_visit_code())
        .order_by("opened_at", "pk")
    )
    unresolved = list(
        queries.exclude(status=QueryStatus.CLOSED)
        .annotate(visit_code=_visit_code())
        .order_by("opened_at", "pk")
    )
    confirmed_in_period = Q(
        state=DeviationState.CONFIRMED, occurred_on__gte=first, occurred_on__lte=last
    )
    deviations = list(
        ProtocolDeviation.objects.filter(participant__site=site)
        .filter(Q(state=DeviationState.DRAFT) | confirmed_in_period)
        .annotate(visit_code=F("visit__code"))
        .select_related("participant")
        .order_by("occurred_on", "pk")
    )
    return VisitReport(
        site=site,
        first=first,
        last=last,
        verifications=verifications,
        queries=raised,
        open_queries=unresolved,
        deviations=deviations,
    )


CSV_HEADER = (
    "section",
    "participant",
    "visit",
    "form",
    "record_id",
    "what",
    "by",
    "at",
    "state",
    "note",
)


def visit_report_csv_lines(report: VisitReport) -> Iterator[str]:
    """The report as CSV lines, the header first; times on the site's clock with their offset,
    texts in the reader's language."""
    zone = ZoneInfo(report.site.time_zone)
    labels = report.labels
    writer = csv.writer(_Line())

    def at(moment: datetime | None) -> str:
        return timezone.localtime(moment, zone).isoformat() if moment else ""

    def line(*cells: Any) -> str:
        return str(writer.writerow([_cell(str(cell)) for cell in cells]))

    yield line(*CSV_HEADER)
    for sdv in report.verifications:
        note = sdv.override_reason
        if not sdv.complete:
            note = f"{_('Partly verified')} {note}".strip()
        if sdv.voided_at:
            note = f"{_('Voided by a later change')} {at(sdv.voided_at)} {note}".strip()
        yield line(
            _("Verified"),
            sdv.participant.identifier,
            sdv.visit_code,  # type: ignore[attr-defined]
            labels.get(sdv.form_code, sdv.form_code),
            sdv.object_id,
            _("Version %(v)s") % {"v": sdv.row_version},
            sdv.verified_by.display_name(),
            at(sdv.verified_at),
            _("Verified by override") if sdv.open_queries else _("Verified"),
            note,
        )
    for section, rows in (
        (_("Query raised"), report.queries),
        (_("Open finding: query"), report.open_queries),
    ):
        for query in rows:
            yield line(
                section,
                query.participant.identifier,
                query.visit_code,  # type: ignore[attr-defined]
                labels.get(query.form_code, query.form_code),
                query.object_id or "",
                query.shown_text,
                query.opened_by.display_name(),
                at(query.opened_at),
                query.get_status_display(),
                at(query.closed_at),
            )
    for deviation in report.deviations:
        yield line(
            _("Open finding: deviation")
            if deviation.state == DeviationState.DRAFT
            else _("Protocol deviation"),
            deviation.participant.identifier,
            deviation.visit_code or "",  # type: ignore[attr-defined]
            deviation.get_category_display(),
            deviation.pk,
            deviation.shown_description,
            deviation.get_origin_display(),
            deviation.occurred_on.isoformat() if deviation.occurred_on else "",
            deviation.get_state_display(),
            deviation.get_severity_display(),
        )
