"""The icon of one form at one visit, on the casebook and on the trial's grid."""

from __future__ import annotations

from typing import Any, cast

from django import template
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from casebook.grid import TRIALS_FORMS, Cell

register = template.Library()

# Not linked: nothing to enter yet.
_UNLINKED = ("not_due", "not_expected")


def _cache(context: template.Context, name: str) -> dict[Any, Any]:
    """A dict kept for the rest of this rendering of the template."""
    found = context.render_context.get(name)
    if found is None:
        found = context.render_context[name] = {}
    return cast(dict[Any, Any], found)


def _form_url(context: template.Context, participant_id: int, code: str) -> str:
    """The form's page of records for the participant (`casebook:log`), reversed once per
    participant and rendering: a form's URLs are that page's, then `new/` or the record."""
    bases = _cache(context, "casebook_bases")
    if participant_id not in bases:
        bases[participant_id] = reverse("casebook:grid", args=(participant_id,))
    return f"{bases[participant_id]}{code}/"


def _said(context: template.Context, cell: Cell, label: Any) -> SafeString:
    """What a cell says, `form: state (count)`, escaped; translated once per form, state and
    count on a page (a form has one label on a page)."""
    said = _cache(context, "casebook_said")
    key = (cell.form_code, cell.state, cell.count)
    if key not in said:
        text = format_html("{}: {}", label, cell.state_label)
        said[key] = format_html("{} ({})", text, cell.count) if cell.count else text
    return said[key]


@register.simple_tag(takes_context=True)
def form_cell(
    context: template.Context, cell: Cell, participant_id: int, visit: Any, label: Any
) -> SafeString:
    """One form's state icon with its label for screen readers; a link to the record, the
    form's records or a new record, unless the form is not due. Built here rather than by an
    included template: the grid shows a thousand of them on one page. The line break after
    each keeps the icons apart as words are."""
    said = _said(context, cell, label)
    if cell.state in _UNLINKED:
        return format_html(
            '<span class="fs fs-{}" title="{}"><span aria-hidden="true">{}</span>'
            '<span class="vh">{}</span></span>\n',
            cell.state,
            said,
            cell.icon,
            said,
        )
    if cell.form_code in TRIALS_FORMS:
        href = reverse("trials:participant", args=(participant_id,))
    elif cell.record_id:
        href = f"{_form_url(context, participant_id, cell.form_code)}{cell.record_id}/"
    elif cell.count:
        href = _form_url(context, participant_id, cell.form_code)
    else:
        href = f"{_form_url(context, participant_id, cell.form_code)}new/?visit={visit.pk}"
    return format_html(
        '<a class="fs fs-{}" title="{}" data-form="{}" data-visit="{}" data-state="{}" '
        'href="{}"><span aria-hidden="true">{}</span><span class="vh">{}</span></a>\n',
        cell.state,
        said,
        cell.form_code,
        visit.code,
        cell.state,
        href,
        cell.icon,
        said,
    )
