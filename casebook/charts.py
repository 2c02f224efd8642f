"""Charts drawn on the server as SVG with pygal: a participant's measures by study day, a
trial's enrolment against its target and visit completeness per site, a monitored site's
weekly queries and verification.

Each line is told apart by its dash pattern and dots as well as its colour, and its label
says which pattern it is, so a chart reads in black and white and on paper. pygal writes its
styles (and a small script, which an SVG shown as an image never runs) into the SVG itself,
so the SVG is served on its own URL and shown with <img>; see chart_views.
"""

from __future__ import annotations

import sys
from datetime import date

import pygal
from django.utils.translation import gettext as _
from pygal.style import Style

from assessments.trends import Measure, Trends
from casebook.monitoring.dashboard import Week
from visits.selectors import Enrolment, SiteCompleteness

# Importing pygal adds an import hook for its map plugins (unused here) that has no
# `find_spec`; any importer that asks every hook for one then fails. Take it out again.
sys.meta_path[:] = [hook for hook in sys.meta_path if not isinstance(hook, pygal.PluginImportFixer)]

# Dark inks that stay distinct in greyscale; the dash patterns carry the difference anyway.
STYLE = Style(
    background="#ffffff",
    plot_background="#ffffff",
    foreground="#1d2733",
    foreground_strong="#1d2733",
    foreground_subtle="#5b6775",
    font_family="system-ui, sans-serif",
    label_font_size=13,
    major_label_font_size=13,
    legend_font_size=13,
    title_font_size=16,
    value_font_size=12,
    stroke_width="2.5",
    colors=("#1f5f99", "#a4161a", "#1b6e3a", "#8a5a00", "#5b6775", "#1d2733"),
)

# (dash pattern, dot size, how the label names it) for a measure's own series, in order.
SERIES_PATTERNS = (
    ("", 5, "solid line, round dots"),
    ("8, 5", 8, "dashed line, large dots"),
)
REFERENCE_DASH = "2, 5"
INFUSION_DASH = "12, 4, 2, 4"


# pygal draws a solid vertical line at day 0; the Day 0 infusion line, dash-dotted, takes
# its place so that the two are not drawn over each other.
HIDE_ZERO_LINE = "inline:.axis.x path.line:not(.guide){stroke:none !important}"


def _config(**options: object) -> dict[str, object]:
    return {
        "style": STYLE,
        "css": [*pygal.Config().css, HIDE_ZERO_LINE],
        "js": [],
        "width": 900,
        "height": 440,
        "legend_at_bottom": True,
        "legend_at_bottom_columns": 1,
        "truncate_legend": -1,
        "truncate_label": -1,
        "no_data_text": _("No values yet"),
        # No grid: every dashed or dotted line on a chart is one the legend names.
        "show_y_guides": False,
        "show_x_guides": False,
        **options,
    }


def _pattern_label(index: int) -> str:
    return {
        0: _("solid line, round dots"),
        1: _("dashed line, large dots"),
    }[index % len(SERIES_PATTERNS)]


def measure_svg(trends: Trends, measure: Measure) -> str:
    """One measure over study days, with the infusion days and the response thresholds."""
    values = [p.value for s in measure.series for p in s.points]
    values += [r.value for r in measure.references]
    days = [p.day for s in measure.series for p in s.points] + trends.infusion_days
    low = min([0.0, *values])
    high = max(values) * 1.1 if values else 1.0
    # A week's margin either side, so that no point or infusion line sits on an axis.
    first, last = (min(days) - 7, max(days) + 7) if days else (-7, 7)
    chart = pygal.XY(
        **_config(
            title=f"{measure.title} ({measure.unit})",
            x_title=_("Study day (Day 0 = first infusion)"),
            y_title=measure.unit,
            range=(low, high),
            xrange=(first, last),
        )
    )
    for index, series in enumerate(measure.series):
        dash, dots, _name = SERIES_PATTERNS[index % len(SERIES_PATTERNS)]
        chart.add(
            f"{series.label} ({_pattern_label(index)})",
            [(p.day, p.value) for p in series.points],
            stroke_style={"width": 2.5, "dasharray": dash},
            dots_size=dots,
        )
    for reference in measure.references:
        chart.add(
            f"{reference.label} ({_('dotted line')})",
            [(first, reference.value), (last, reference.value)],
            stroke_style={"width": 2.5, "dasharray": REFERENCE_DASH},
            show_dots=False,
        )
    for day in trends.infusion_days:
        label = (
            _("Day 0: first infusion") if day == 0 else _("Infusion on day %(day)s") % {"day": day}
        )
        chart.add(
            f"{label} ({_('vertical dash-dot line')})",
            [(day, low), (day, high)],
            stroke_style={"width": 2.5, "dasharray": INFUSION_DASH},
            show_dots=False,
        )
    return str(chart.render(is_unicode=True))


def enrolment_svg(enrolment: Enrolment) -> str:
    """Participants allocated over time, against the planned enrolment."""
    chart = pygal.DateLine(
        **_config(
            title=_("Enrolment against the target"),
            x_title=_("Date"),
            y_title=_("Participants"),
            range=(0, max(enrolment.target, enrolment.total) + 1),
            x_value_formatter=lambda day: day.strftime("%Y-%m-%d"),
            x_label_rotation=20,
        )
    )
    days = [day for day, _count in enrolment.cumulative]
    if days:
        chart.add(
            _("Randomized or enrolled (solid line, round dots)"),
            enrolment.cumulative,
            stroke_style={"width": 2.5},
            dots_size=5,
        )
        start: date = days[0]
        end: date = days[-1] if days[-1] > start else date.fromordinal(start.toordinal() + 1)
        chart.add(
            _("Target: %(n)s participants (dotted line)") % {"n": enrolment.target},
            [(start, enrolment.target), (end, enrolment.target)],
            stroke_style={"width": 2, "dasharray": REFERENCE_DASH},
            show_dots=False,
        )
    return str(chart.render(is_unicode=True))


def completeness_svg(rows: list[SiteCompleteness]) -> str:
    """Per site, the share of its due visits that were completed, with the number printed."""
    chart = pygal.HorizontalBar(
        **_config(
            title=_("Visit completeness per site"),
            x_title=_("Completed visits (percentage of those due)"),
            range=(0, 100),
            print_values=True,
            show_legend=False,
            value_formatter=lambda value: f"{value:.0f} %",
        )
    )
    chart.x_labels = [f"{row.site.code} {row.site.name}" for row in rows]
    if rows:
        chart.add(_("Completed visits"), [row.percent for row in rows])
    return str(chart.render(is_unicode=True))


def monitoring_svg(weeks: list[Week]) -> str:
    """A site's queries opened and closed and forms verified, week by week."""
    chart = pygal.Line(
        **_config(
            title=_("Queries and verification per week"),
            x_title=_("Week beginning (site time)"),
            y_title=_("Number"),
            range=(0, max([1, *(max(w.opened, w.closed, w.verified) for w in weeks)]) + 1),
            x_label_rotation=20,
            height=380,
        )
    )
    chart.x_labels = [week.start.strftime("%Y-%m-%d") for week in weeks]
    lines = (
        (_("Queries opened (solid line, round dots)"), "opened", "", 5),
        (_("Queries closed (dashed line, large dots)"), "closed", "8, 5", 8),
        (_("Forms verified (dotted line, small dots)"), "verified", REFERENCE_DASH, 3),
    )
    for label, name, dash, dots in lines:
        chart.add(
            label,
            [getattr(week, name) for week in weeks],
            stroke_style={"width": 2.5, "dasharray": dash},
            dots_size=dots,
        )
    return str(chart.render(is_unicode=True))
