"""The adverse events of a synthetic participant: events reported at visits, their
follow-up, and serious events with the sponsor's assessment and expedited reports."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from demo.synthetic.medication import antibiotic
from demo.synthetic.plan import VisitPlan
from demo.synthetic.timeline import Timeline

# (term, grade, AESI category or "", investigator causality), for events reported at visits.
ADVERSE_EVENTS = (
    ("Headache", 1, "", "unlikely"),
    ("Nausea", 1, "", "unlikely"),
    ("Fatigue", 1, "", "not_related"),
    ("Upper respiratory tract infection", 1, "infection", "not_related"),
    ("Urinary tract infection", 2, "infection", "not_related"),
    ("Herpes zoster", 2, "infection", "unlikely"),
    ("Diarrhoea", 1, "", "not_related"),
    ("Hypertension", 2, "", "not_related"),
    ("Peripheral oedema", 1, "", "not_related"),
    ("Arthralgia", 1, "", "not_related"),
    ("Insomnia", 1, "", "not_related"),
)
# (term, AESI category, causality, expectedness) of serious events.
SERIOUS_EVENTS = (
    ("Pneumonia", "infection", "unlikely", "expected"),
    ("Cellulitis", "infection", "not_related", "expected"),
    ("Lupus nephritis flare", "", "not_related", "expected"),
    ("Deep vein thrombosis", "thromboembolism", "possible", "unexpected"),
)


def adverse_events(timeline: Timeline, attended: list[VisitPlan]) -> None:
    rng, plan = timeline.rng, timeline.plan
    assert plan.day0 is not None
    follow = [v for v in attended if v.actual is not None and v.actual > plan.day0]
    if not follow:
        return
    count = sum(rng.random() < timeline.ctx.mix.adverse_events / 4 for _ in range(4))
    for _ in range(count):
        report = rng.choice(follow)
        assert report.actual is not None
        onset = report.actual - timedelta(days=rng.randint(1, 20))
        onset = max(onset, plan.day0 + timedelta(days=1))
        adverse_event(timeline, onset, report, follow)
    if rng.random() < timeline.ctx.mix.serious * 2 and follow[-1].actual is not None:
        span = (follow[-1].actual - plan.day0).days
        serious_event(timeline, plan.day0 + timedelta(days=rng.randint(2, max(span, 2))))


def adverse_event(
    timeline: Timeline, onset: date, report: VisitPlan, follow: list[VisitPlan]
) -> None:
    rng = timeline.rng
    term, grade, aesi, causality = rng.choice(ADVERSE_EVENTS)
    assert report.actual is not None
    ends = onset + timedelta(days=rng.randint(2, 25))
    resolved = ends < report.actual
    key = timeline.key("ae")
    data: dict[str, Any] = {
        "verbatim_term": term,
        "onset_date": f"{onset:%Y-%m}" if rng.random() < 0.05 else onset.isoformat(),
        "ongoing": not resolved,
        "ctcae_grade": grade,
        "investigator_causality": causality,
        "action_taken": "none",
        "outcome": "recovered" if resolved else "recovering",
        "special_interest": bool(aesi),
        "aesi_category": aesi,
    }
    if resolved:
        data["end_date"] = ends.isoformat()
    when = timeline.at(report.actual, 13)
    timeline.form(when, "adverse_events", report.spec.code, data, key=key, actor="investigator")
    if aesi == "infection":
        antibiotic(timeline, when + timedelta(minutes=2), report, onset)
    later = [v for v in follow if v.actual and v.actual > max(ends, report.actual)]
    if not resolved and later:
        assert later[0].actual is not None
        timeline.form(
            timeline.at(later[0].actual, 13, 10),
            "adverse_events",
            later[0].spec.code,
            {"end_date": ends.isoformat(), "ongoing": False, "outcome": "recovered"},
            key=key,
            actor="investigator",
            reason="Follow-up: event resolved",
        )


def serious_event(timeline: Timeline, onset: date) -> None:
    rng = timeline.rng
    term, aesi, causality, expected = rng.choice(SERIOUS_EVENTS)
    aware = timeline.at(onset + timedelta(days=rng.randint(0, 2)), 10, rng.randint(0, 240))
    late = rng.random() < 0.1
    reported = aware + timedelta(hours=rng.randint(30, 40) if late else rng.randint(2, 20))
    key = timeline.key("ae")
    timeline.form(
        reported + timedelta(minutes=30),
        "adverse_events",
        "",
        {
            "verbatim_term": term,
            "onset_date": onset.isoformat(),
            "ongoing": True,
            "ctcae_grade": 3,
            "hospitalisation": True,
            "investigator_causality": causality,
            "action_taken": "none",
            "outcome": "recovering",
            "special_interest": bool(aesi),
            "aesi_category": aesi,
            "site_awareness_at": aware,
            "sae_reported_at": reported,
        },
        key=key,
        actor="investigator",
    )
    assessed = reported + timedelta(days=2)
    timeline.form(
        assessed,
        "adverse_events",
        "",
        {
            "sponsor_causality": causality,
            "expectedness": expected,
            "sponsor_awareness_at": reported,
        },
        key=key,
        actor="medical_monitor",
        reason="Sponsor assessment",
    )
    if expected == "unexpected":
        timeline.form(
            assessed + timedelta(days=5),
            "adverse_events",
            "",
            {"susar_reported_at": assessed + timedelta(days=4)},
            key=key,
            actor="medical_monitor",
            reason="SUSAR expedited report submitted",
        )
    ends = onset + timedelta(days=rng.randint(8, 20))
    timeline.form(
        timeline.at(ends + timedelta(days=3), 11),
        "adverse_events",
        "",
        {"end_date": ends.isoformat(), "ongoing": False, "outcome": "recovered"},
        key=key,
        actor="investigator",
        reason="Follow-up: event resolved",
    )


# Corrections and the end -----------------------------------------------------------------
