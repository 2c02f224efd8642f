"""Reads for a participant's charts: each efficacy measure by study day, with the protocol's
response thresholds and the infusion days; no arm, and only forms the user may read."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from assessments.models.base import EntryStatus
from assessments.models.labs import ANALYTES_BY_CODE, unit_field, value_field
from assessments.rules.infusion import INFUSION
from assessments.rules.labs import LABS
from assessments.rules.renal import RENAL
from assessments.rules.sledai import SLEDAI
from assessments.selectors import readable_with
from trials.access import user_roles
from trials.definitions import definition_of
from trials.models import Participant

# The measures charted, in the order of the page; each names its unit as printed.
MEASURES = ("sledai", "upcr", "egfr", "complement", "dsdna")


@dataclass(frozen=True)
class Point:
    """One value: its study day (Day 0 = first infusion), the date it was taken, the visit."""

    day: int
    on: date
    value: float
    visit: str


@dataclass(frozen=True)
class Series:
    label: str
    points: list[Point]


@dataclass(frozen=True)
class Reference:
    """A threshold of the protocol's response rule, drawn as a horizontal line."""

    label: str
    value: float


@dataclass(frozen=True)
class Measure:
    code: str
    title: str
    unit: str
    series: list[Series]
    references: list[Reference] = field(default_factory=list)

    @property
    def has_values(self) -> bool:
        return any(series.points for series in self.series)

    def rows(self) -> list[tuple[int, date, str, list[float | None]]]:
        """The values as a table: one row per study day, one column per series."""
        keyed: dict[tuple[int, date, str], list[float | None]] = {}
        for index, series in enumerate(self.series):
            for point in series.points:
                row = keyed.setdefault(
                    (point.day, point.on, point.visit), [None] * len(self.series)
                )
                row[index] = point.value
        return [(day, on, visit, values) for (day, on, visit), values in sorted(keyed.items())]


@dataclass(frozen=True)
class Trends:
    participant: Participant
    day0: date | None
    # Study days of the infusions given (Day 0 first); the product given is never named.
    infusion_days: list[int]
    measures: list[Measure]

    def measure(self, code: str) -> Measure | None:
        return next((m for m in self.measures if m.code == code), None)


def _entered(ftype: Any, participant: Participant) -> Any:
    return (
        ftype.model.objects.filter(participant=participant, entry_status=EntryStatus.ENTERED)
        .select_related("visit")
        .order_by("visit__visit_number", "pk")
    )


def _point(day0: date, on: date | None, value: Any, visit: Any) -> Point | None:
    if on is None or value is None:
        return None
    return Point(day=(on - day0).days, on=on, value=float(value), visit=str(visit.name))


def _canonical(record: Any, code: str) -> Decimal | None:
    """A lab value in its canonical unit (C3 and C4 in g/L, anti-dsDNA in IU/mL)."""
    value = getattr(record, value_field(code))
    unit = getattr(record, unit_field(code))
    factors = ANALYTES_BY_CODE[code].units
    if value is None or unit not in factors:
        return None
    return Decimal(value) * factors[unit]


# Response parameters that are thresholds of a charted measure, with how each is named.
REFERENCE_LABELS = {
    "crr_upcr_max_g_per_g": (
        "upcr",
        gettext_noop("Complete renal response: UPCR below %(value)s g/g"),
    ),
    "cr_upcr_max_g_per_g": ("upcr", gettext_noop("Complete response: UPCR below %(value)s g/g")),
    "prr_upcr_max_g_per_g": (
        "upcr",
        gettext_noop("Partial renal response: UPCR below %(value)s g/g"),
    ),
    "gfr_ok_egfr_min": ("egfr", gettext_noop("Kidney function kept: eGFR %(value)s or more")),
    "cr_egfr_min": ("egfr", gettext_noop("Complete response: eGFR %(value)s or more")),
}


def response_references(participant: Participant) -> dict[str, list[Reference]]:
    """The thresholds of the participant's protocol version's response rule, per measure."""
    params = definition_of(participant.protocol_version).response.params
    found: dict[str, list[Reference]] = {}
    for key, (measure, label) in REFERENCE_LABELS.items():
        if key in params:
            value = float(params[key])
            found.setdefault(measure, []).append(
                Reference(_(label) % {"value": f"{value:g}"}, value)
            )
    return found


def participant_trends(user: Any, participant: Participant) -> Trends:
    """The participant's measures by study day; `participant` comes from participant_get.

    Values are counted from Day 0; before Day 0 is set nothing is charted. A measure whose
    form the user may not read (a pharmacist and the efficacy forms) is left out.
    """
    day0 = participant.day0
    if day0 is None:
        return Trends(participant, None, [], [])
    roles = user_roles(user, participant.trial, participant.site)
    infusion_days = {0}
    if readable_with(roles, INFUSION):
        for record in _entered(INFUSION, participant):
            if record.visit.actual_date is not None:
                infusion_days.add((record.visit.actual_date - day0).days)
    references = response_references(participant)
    measures: list[Measure] = []

    if readable_with(roles, SLEDAI):
        points = [
            _point(day0, r.assessment_date or r.visit.actual_date, r.total, r.visit)
            for r in _entered(SLEDAI, participant)
        ]
        measures.append(
            Measure(
                "sledai",
                _("SLEDAI-2K total"),
                _("score"),
                [Series(_("SLEDAI-2K total"), [p for p in points if p])],
            )
        )
    if readable_with(roles, RENAL):
        renal = list(_entered(RENAL, participant))
        upcr = [_point(day0, r.assessment_date, r.upcr_g_g, r.visit) for r in renal]
        egfr = [_point(day0, r.assessment_date, r.egfr, r.visit) for r in renal]
        measures.append(
            Measure(
                "upcr",
                _("Urine protein-to-creatinine ratio (UPCR)"),
                "g/g",
                [Series(_("UPCR"), [p for p in upcr if p])],
                references.get("upcr", []),
            )
        )
        measures.append(
            Measure(
                "egfr",
                _("Estimated GFR"),
                "mL/min/1.73 m²",
                [Series(_("eGFR"), [p for p in egfr if p])],
                references.get("egfr", []),
            )
        )
    if readable_with(roles, LABS):
        labs = list(_entered(LABS, participant))

        def lab_series(code: str, label: str) -> Series:
            points = [_point(day0, r.sample_date, _canonical(r, code), r.visit) for r in labs]
            return Series(label, [p for p in points if p])

        measures.append(
            Measure(
                "complement",
                _("Complement C3 and C4"),
                "g/L",
                [lab_series("c3", _("C3")), lab_series("c4", _("C4"))],
            )
        )
        measures.append(
            Measure("dsdna", _("Anti-dsDNA"), "IU/mL", [lab_series("anti_dsdna", _("Anti-dsDNA"))])
        )
    return Trends(participant, day0, sorted(infusion_days), measures)
