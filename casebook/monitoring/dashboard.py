"""The monitor's dashboard: per site, the work left (queries by age, forms to verify, forms
missing, visits to sign, deviations) and the last weeks' trends, all counted by the database."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import (
    Case,
    CharField,
    Count,
    Exists,
    IntegerField,
    OuterRef,
    Q,
    Sum,
    TextField,
    Value,
    When,
)
from django.db.models.functions import Cast
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from assessments.models import ProtocolDeviation
from assessments.models.deviation import DeviationCategory, DeviationState
from casebook.catalogue import form_types
from casebook.forms_pending import collected
from casebook.review_selectors.queue import AGE_BANDS, _aged, sdv_plans, unverified_by_type
from review.models import (
    DataQuery,
    QueryStatus,
    Signature,
    SignatureScope,
    SourceVerification,
)
from trials.models import Site, Trial
from visits.models import Visit, VisitStatus

# How the dashboard names the bands of AGE_BANDS.
AGE_LABELS = {
    "0-7": gettext_lazy("7 days or less"),
    "8-30": gettext_lazy("8 to 30 days"),
    ">30": gettext_lazy("over 30 days"),
}
# Weeks of the trends, the current one (begun on Monday, site time) the last.
WEEKS = 8


@dataclass(frozen=True)
class Week:
    start: date  # the Monday, site time
    opened: int
    closed: int
    verified: int


@dataclass(frozen=True)
class SiteDashboard:
    site: Site
    open_by_age: list[tuple[str, Any, int]]  # (band of AGE_BANDS, its label, open queries)
    answered: int
    to_verify: int
    forms_missing: int
    visits_to_sign: int
    deviations_to_confirm: int
    deviations_by_category: list[tuple[str, Any, int]]  # (code, label, not dismissed)
    weeks: list[Week]

    @property
    def open_queries(self) -> int:
        return sum(n for _band, _label, n in self.open_by_age)


def _by_site(rows: Any, key: str = "site") -> dict[int, dict[str, Any]]:
    return {row[key]: row for row in rows}


def _unverified_counts(site_ids: list[int], trial: Trial) -> dict[int, int]:
    """Entered forms in the SDV plan without a current verification, per site: one query, a
    UNION of each form type's count per site."""
    parts = [
        records.values(site=Cast("participant__site_id", IntegerField())).annotate(
            n=Count("pk"), form=Value(code, output_field=CharField())
        )
        for code, records in unverified_by_type(
            Q(participant__site_id__in=site_ids), sdv_plans(trial)
        )
    ]
    counts: dict[int, int] = defaultdict(int)
    if parts:
        rows = parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
        for row in rows:
            counts[row["site"]] += row["n"]
    return counts


def _missing_counts(site_ids: list[int]) -> dict[int, int]:
    """Forms a completed visit collects that have no record (not even "not done"), per
    site: one query, the visit's list of forms read as text so that every database can
    search it."""
    has = collected(form_types())
    missing = sum(
        (
            Case(
                When(Q(forms_text__contains=f'"{code}"') & Q(**{f"has_{code}": False}), then=1),
                default=0,
                output_field=IntegerField(),
            )
            for code in has
        ),
        Value(0, output_field=IntegerField()),
    )
    rows = (
        Visit.objects.filter(participant__site_id__in=site_ids, status=VisitStatus.COMPLETED)
        .annotate(forms_text=Cast("forms", TextField()), **{f"has_{c}": e for c, e in has.items()})
        .order_by()
        .values(site=Cast("participant__site_id", IntegerField()))
        .annotate(n=Sum(missing))
    )
    return {row["site"]: row["n"] or 0 for row in rows}


def _week_starts(site: Site, now: datetime) -> list[datetime]:
    """The Mondays (midnight, site time) that begin each week of the trends, oldest first,
    and the next one, which ends the current week."""
    zone = ZoneInfo(site.time_zone)
    today = now.astimezone(zone).date()
    monday = today - timedelta(days=today.weekday())
    return [
        datetime.combine(monday - timedelta(weeks=WEEKS - 1 - i), time(), tzinfo=zone)
        for i in range(WEEKS + 1)
    ]


def _weekly(
    sites: list[Site], starts: dict[int, list[datetime]], site_field: str, **fields: str
) -> dict[str, Any]:
    """For each `name: date field` and week, a count of the rows dated in that week, each
    week bounded in its own site's zone; to be counted per site in one query."""
    counts = {}
    for name, at in fields.items():
        for week in range(WEEKS):
            within = Q(pk__in=[])
            for site in sites:
                bounds = starts[site.pk]
                within |= Q(
                    **{
                        site_field: site.pk,
                        f"{at}__gte": bounds[week],
                        f"{at}__lt": bounds[week + 1],
                    }
                )
            counts[f"{name}{week}"] = Count("pk", filter=within)
    return counts


def monitor_dashboard(trial: Trial, sites: list[Site], *, now: datetime) -> list[SiteDashboard]:
    """The dashboard of `sites` (already those the user monitors, see monitored_sites). Seven
    queries whatever the number of participants: queries by status, age and week; the SDV
    plans; verifications by week; forms to verify (one UNION); forms missing; visits to sign;
    deviations by category and state."""
    if not sites:
        return []
    ids = [site.pk for site in sites]
    bands = {
        f"band{i}": Count("pk", filter=Q(status=QueryStatus.OPEN) & _aged(low, high, now))
        for i, (_band, low, high) in enumerate(AGE_BANDS)
    }
    starts = {site.pk: _week_starts(site, now) for site in sites}
    queries = _by_site(
        DataQuery.objects.filter(trial=trial, site_id__in=ids)
        .order_by()
        .values("site")
        .annotate(
            answered=Count("pk", filter=Q(status=QueryStatus.ANSWERED)),
            **bands,
            **_weekly(sites, starts, "site_id", opened="opened_at", closed="closed_at"),
        )
    )
    sdv_weeks = _by_site(
        SourceVerification.objects.filter(participant__site_id__in=ids)
        .order_by()
        .values(site=Cast("participant__site_id", IntegerField()))
        .annotate(**_weekly(sites, starts, "participant__site_id", verified="verified_at"))
    )
    to_verify = _unverified_counts(ids, trial)
    missing = _missing_counts(ids)
    signed = Signature.objects.filter(
        scope=SignatureScope.VISIT, visit_id=OuterRef("pk"), voided_at__isnull=True
    )
    to_sign = _by_site(
        Visit.objects.filter(participant__site_id__in=ids, status=VisitStatus.COMPLETED)
        .filter(~Exists(signed))
        .order_by()
        .values(site=Cast("participant__site_id", IntegerField()))
        .annotate(n=Count("pk"))
    )
    deviations: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    drafts: dict[int, int] = defaultdict(int)
    for row in (
        ProtocolDeviation.objects.filter(participant__site_id__in=ids)
        .exclude(state=DeviationState.DISMISSED)
        .order_by()
        .values("category", "state", site=Cast("participant__site_id", IntegerField()))
        .annotate(n=Count("pk"))
    ):
        deviations[row["site"]][row["category"]] += row["n"]
        if row["state"] == DeviationState.DRAFT:
            drafts[row["site"]] += row["n"]
    labels = dict(DeviationCategory.choices)

    shown = []
    for site in sites:
        counts = queries.get(site.pk, {})
        verified = sdv_weeks.get(site.pk, {})
        shown.append(
            SiteDashboard(
                site=site,
                open_by_age=[
                    (band, AGE_LABELS.get(band, band), counts.get(f"band{i}", 0))
                    for i, (band, _low, _high) in enumerate(AGE_BANDS)
                ],
                answered=counts.get("answered", 0),
                to_verify=to_verify.get(site.pk, 0),
                forms_missing=missing.get(site.pk, 0),
                visits_to_sign=to_sign.get(site.pk, {}).get("n", 0),
                deviations_to_confirm=drafts[site.pk],
                deviations_by_category=[
                    (code, labels.get(code, code) if code else _("No category"), n)
                    for code, n in sorted(deviations[site.pk].items())
                ],
                weeks=[
                    Week(
                        start=starts[site.pk][week].date(),
                        opened=counts.get(f"opened{week}", 0),
                        closed=counts.get(f"closed{week}", 0),
                        verified=verified.get(f"verified{week}", 0),
                    )
                    for week in range(WEEKS)
                ],
            )
        )
    return shown
