"""Safety pages: the SAE and SUSAR reporting clock dashboard of the current workspace."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from ecrf.access import SAE_CLOCK_ROLES
from ecrf.errors import PermissionDeniedError
from ecrf.pagination import page_shown
from safety.rules import ClockState
from safety.selectors import SaeClock, sae_clock_events, sae_clock_rows
from trials.workspace import current_membership

# How close to its deadline an unreported clock is highlighted: a quarter of a day for the
# 24-hour SAE report, two days for the 7- and 15-day SUSAR reports.
SAE_DUE_SOON = timedelta(hours=6)
SUSAR_DUE_SOON = timedelta(days=2)

STATE_LABELS: dict[ClockState, Any] = {
    ClockState.DUE: gettext_lazy("Report due"),
    ClockState.ON_TIME: gettext_lazy("Reported on time"),
    ClockState.LATE: gettext_lazy("Reported late"),
    ClockState.OVERDUE: gettext_lazy("Overdue"),
    ClockState.NO_DEADLINE: gettext_lazy("No deadline yet"),
}
STATE_CLASSES: dict[ClockState, str] = {
    ClockState.DUE: "status-entered",
    ClockState.ON_TIME: "status-ok",
    ClockState.LATE: "status-missing",
    ClockState.OVERDUE: "status-missed",
    ClockState.NO_DEADLINE: "status-warning",
}


@dataclass(frozen=True)
class ClockCell:
    """One reporting clock as shown: its deadline, state label and badge class."""

    due_at: datetime | None
    state: ClockState
    label: Any
    css: str
    due_soon: bool


def _cell(
    due_at: datetime | None, state: ClockState, now: datetime, window: timedelta
) -> ClockCell:
    soon = state == ClockState.DUE and due_at is not None and due_at - now <= window
    return ClockCell(
        due_at=due_at,
        state=state,
        label=gettext_lazy("Due soon") if soon else STATE_LABELS[state],
        css="status-overdue" if soon else STATE_CLASSES[state],
        due_soon=soon,
    )


@dataclass(frozen=True)
class ClockRow:
    clock: SaeClock
    sae: ClockCell
    susar: ClockCell | None
    susar_followup: ClockCell | None = None

    @property
    def cells(self) -> list[ClockCell]:
        return [c for c in (self.sae, self.susar, self.susar_followup) if c is not None]

    @property
    def overdue(self) -> bool:
        return any(cell.state == ClockState.OVERDUE for cell in self.cells)

    @property
    def due_soon(self) -> bool:
        return any(cell.due_soon for cell in self.cells)


def _row(clock: SaeClock, now: datetime) -> ClockRow:
    return ClockRow(
        clock=clock,
        sae=_cell(clock.sae_due_at, clock.sae_state, now, SAE_DUE_SOON),
        susar=_cell(clock.susar_due_at, clock.susar_state, now, SUSAR_DUE_SOON)
        if clock.susar_state is not None
        else None,
        susar_followup=_cell(
            clock.susar_followup_due_at, clock.susar_followup_state, now, SUSAR_DUE_SOON
        )
        if clock.susar_followup_state is not None
        else None,
    )


@login_required
@require_GET
def clock_view(request: HttpRequest) -> HttpResponse:
    membership = current_membership(request)
    pending_only = request.GET.get("pending") == "1"
    context: dict[str, Any] = {"membership": membership, "pending_only": pending_only}
    if membership is not None:
        if membership.role not in SAE_CLOCK_ROLES:
            raise PermissionDeniedError(
                _("Your role in this trial does not include the SAE clock.")
            )
        now = timezone.now()
        # The workspace is one site: keep to it even if the user works at others too.
        events = sae_clock_events(
            request.user,
            membership.trial,
            now,
            pending_only=pending_only,
            site_id=membership.site_id,
        )
        shown = page_shown(events, request.GET.get("page"))
        context |= {
            "page": shown,
            "rows": [_row(clock, now) for clock in sae_clock_rows(shown.object_list, now)],
            "now": now,
            "query": "pending=1" if pending_only else "",
        }
    return render(request, "safety/clock.html", context)
