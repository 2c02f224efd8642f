"""The medication of a synthetic participant: background therapy, prednisone taper,
premedication, rescue therapy and antibiotics, each a concomitant medication entry."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from demo.synthetic import clinical
from demo.synthetic.plan import VisitPlan
from demo.synthetic.timeline import Timeline

ANTIBIOTIC = ("Amoxicillin/clavulanic acid", Decimal(875), "mg", "oral", "bid")


def conmed(timeline: Timeline, at: datetime, visit: str, data: dict[str, Any]) -> str:
    key = timeline.key("cm")
    timeline.form(at, "conmed", visit, data, key=key)
    return key


def conmeds_at_screening(timeline: Timeline, at: datetime, visit: str, day: date) -> None:
    rng = timeline.rng
    started = day - timedelta(days=rng.randint(5, 40))
    timeline.prednisone = prednisone_start(timeline, at, visit, started, timeline.p.pred0)
    years = rng.randint(1, 8)
    conmed(
        timeline,
        at + timedelta(minutes=1),
        visit,
        {
            "medication": "Hydroxychloroquine",
            "category": "antimalarial",
            "dose": Decimal(200),
            "dose_unit": "mg",
            "route": "oral",
            "frequency": "daily",
            "indication": "Systemic lupus erythematosus",
            "start_date": f"{day.year - years}",
            "ongoing": True,
        },
    )
    conmed(
        timeline,
        at + timedelta(minutes=2),
        visit,
        {
            "medication": "Mycophenolate mofetil",
            "category": "immunosuppressant",
            "dose": Decimal(1000),
            "dose_unit": "mg",
            "route": "oral",
            "frequency": "bid",
            "indication": "Lupus nephritis",
            # Started well before the exclusions' look-backs (3 months before randomization).
            "start_date": f"{started - timedelta(days=90 + rng.randint(30, 300)):%Y-%m}",
            "ongoing": True,
        },
    )
    if rng.random() < 0.7:
        conmed(
            timeline,
            at + timedelta(minutes=3),
            visit,
            {
                "medication": "Ramipril",
                "category": "ace_arb",
                "dose": Decimal(5),
                "dose_unit": "mg",
                "route": "oral",
                "frequency": "daily",
                "indication": "Proteinuria",
                # Unchanged for longer than the 2 months trial A looks back.
                "start_date": f"{started - timedelta(days=40 + rng.randint(60, 900)):%Y-%m}",
                "ongoing": True,
            },
        )


def prednisone_start(timeline: Timeline, at: datetime, visit: str, day: date, dose: float) -> str:
    return conmed(
        timeline,
        at,
        visit,
        {
            "medication": "Prednisone",
            "category": "glucocorticoid",
            "dose": clinical.amount(dose),
            "dose_unit": "mg",
            "route": "oral",
            "frequency": "daily",
            "indication": "Lupus nephritis",
            "start_date": day.isoformat(),
            "ongoing": True,
        },
    )


def taper(
    timeline: Timeline, at: datetime, visit: str, day: date, dose: float, current: float
) -> float:
    """Stop the current prednisone dose the day before and start the new one."""
    if dose == current:
        return current
    timeline.form(
        at,
        "conmed",
        visit,
        {"end_date": (day - timedelta(days=1)).isoformat(), "ongoing": False},
        key=timeline.prednisone,
        reason=f"Dose changed: prednisone tapered to {clinical.amount(dose)} mg/day",
    )
    timeline.prednisone = prednisone_start(timeline, at + timedelta(minutes=1), visit, day, dose)
    return dose


def premedication(timeline: Timeline, at: datetime, visit: str, day: date) -> None:
    conmed(
        timeline,
        at,
        visit,
        {
            "medication": "Paracetamol",
            "category": "other",
            "dose": Decimal(1),
            "dose_unit": "g",
            "route": "oral",
            "frequency": "once",
            "indication": "Premedication before the study infusion",
            "start_date": day.isoformat(),
            "end_date": day.isoformat(),
            "ongoing": False,
        },
    )


# Visits ----------------------------------------------------------------------------------


def rescue(timeline: Timeline, at: datetime, visit: str, day: date) -> None:
    conmed(
        timeline,
        at,
        visit,
        {
            "medication": "Rituximab",
            "category": "rescue",
            "dose": Decimal(1000),
            "dose_unit": "mg",
            "route": "intravenous",
            "frequency": "once",
            "indication": "Refractory lupus nephritis",
            "start_date": day.isoformat(),
            "end_date": day.isoformat(),
            "ongoing": False,
            "given_as_rescue": True,
        },
    )


def antibiotic(timeline: Timeline, at: datetime, report: VisitPlan, onset: date) -> None:
    name, dose, unit, route, frequency = ANTIBIOTIC
    assert report.actual is not None
    ends = onset + timedelta(days=7)
    data: dict[str, Any] = {
        "medication": name,
        "category": "other",
        "dose": dose,
        "dose_unit": unit,
        "route": route,
        "frequency": frequency,
        "indication": "Infection",
        "start_date": onset.isoformat(),
        "ongoing": ends > report.actual,
    }
    if ends <= report.actual:
        data["end_date"] = ends.isoformat()
    conmed(timeline, at, report.spec.code, data)
