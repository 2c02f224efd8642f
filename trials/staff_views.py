"""Staff pages of a trial, for its administrators: members, role requests, invitations, history."""

from __future__ import annotations

from collections.abc import Callable
from itertools import groupby
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from ecrf.errors import DomainError, NotFoundError, PermissionDeniedError
from trials.forms import GrantForm, InviteForm, ReasonForm, submit
from trials.models import Membership, RoleGrantRequest, RoleRequestStatus, Trial
from trials.services import (
    membership_end,
    membership_grant,
    role_request_approve,
    role_request_reject,
    staff_invitation_resend,
    staff_invite,
    staff_remove,
)
from trials.staff_selectors import (
    grantee_get,
    role_request_get,
    role_requests,
    staff_history,
    staff_members,
    staff_membership_get,
    staff_trial_get,
    staff_user_get,
)

HISTORY_PAGE_SIZE = 50
# The grant and invitation forms share field names; the prefix keeps their ids apart.
INVITE_PREFIX = "invite"


def _staff_page(
    request: HttpRequest,
    trial: Trial,
    *,
    grant_form: GrantForm | None = None,
    invite_form: InviteForm | None = None,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    members = list(staff_members(trial))
    groups = [(site, list(rows)) for site, rows in groupby(members, key=lambda member: member.site)]
    context = {
        "trial": trial,
        "groups": groups,
        "pending": role_requests(trial, status=RoleRequestStatus.PENDING),
        "grant_form": grant_form or GrantForm(trial=trial),
        "invite_form": invite_form or InviteForm(trial=trial, prefix=INVITE_PREFIX),
        "error": error,
    }
    return render(request, "trials/staff.html", context, status=status)


@never_cache
@login_required
@require_GET
def staff_view(request: HttpRequest, code: str) -> HttpResponse:
    return _staff_page(request, staff_trial_get(request.user, code))


@never_cache
@login_required
@require_GET
def staff_history_view(request: HttpRequest, code: str) -> HttpResponse:
    trial = staff_trial_get(request.user, code)
    page = Paginator(staff_history(trial), HISTORY_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "trials/staff_history.html", {"trial": trial, "page": page})


def _done(request: HttpRequest, trial: Trial, message: str) -> HttpResponse:
    messages.success(request, message)
    return redirect("trials:staff", code=trial.code)


def _granted_message(grant: Membership | RoleGrantRequest) -> str:
    if isinstance(grant, RoleGrantRequest):
        return _("%(person)s: the role %(role)s awaits the approval of a second administrator.") % {
            "person": grant.user.display_name(),
            "role": grant.get_role_display(),
        }
    return _("%(person)s now holds the role %(role)s.") % {
        "person": grant.user.display_name(),
        "role": grant.get_role_display(),
    }


@login_required
@require_POST
def staff_grant_view(request: HttpRequest, code: str) -> HttpResponse:
    trial = staff_trial_get(request.user, code)
    form = GrantForm(request.POST, trial=trial)

    def grant(data: dict[str, Any]) -> Membership | RoleGrantRequest:
        return membership_grant(
            actor=request.user,
            user=grantee_get(data["username"]),
            trial=trial,
            role=data["role"],
            site=data["site"],
            reason=data["reason"],
            now=timezone.now(),
        )

    result = submit(form, grant)
    if result is None:
        return _staff_page(request, trial, grant_form=form, status=400)
    return _done(request, trial, _granted_message(result))


@login_required
@require_POST
def staff_invite_view(request: HttpRequest, code: str) -> HttpResponse:
    trial = staff_trial_get(request.user, code)
    form = InviteForm(request.POST, trial=trial, prefix=INVITE_PREFIX)
    result = submit(
        form,
        lambda data: staff_invite(
            actor=request.user,
            trial=trial,
            site_url=request.build_absolute_uri("/"),
            now=timezone.now(),
            **data,
        ),
    )
    if result is None:
        return _staff_page(request, trial, invite_form=form, status=400)
    return _done(
        request,
        trial,
        _("%(person)s is invited: a link to choose a password is on its way to %(email)s.")
        % {"person": result.user.display_name(), "email": result.user.email}
        + " "
        + _granted_message(result.grant),
    )


def _row_action(
    fetch: Callable[[Trial, Any], Any],
    run: Callable[[HttpRequest, Trial, Any, str], str],
    name: str,
) -> Callable[..., HttpResponse]:
    """A POST view acting on one row of the staff page with a reason.

    A refused rule shows the page again with the message on top; a refusal for the user's
    role goes on to the 403/404 page.
    """

    @login_required
    @require_POST
    def view(request: HttpRequest, code: str, pk: int) -> HttpResponse:
        trial = staff_trial_get(request.user, code)
        row = fetch(trial, pk)
        form = ReasonForm(request.POST)
        if not form.is_valid():
            return _staff_page(
                request, trial, error=_("Give the reason for the change."), status=400
            )
        try:
            done = run(request, trial, row, form.cleaned_data["reason"])
        except (PermissionDeniedError, NotFoundError):
            raise
        except DomainError as error:
            return _staff_page(request, trial, error=error.message, status=400)
        return _done(request, trial, done)

    view.__name__ = name
    return view


def _end(request: HttpRequest, trial: Trial, membership: Membership, reason: str) -> str:
    membership_end(actor=request.user, membership=membership, reason=reason, now=timezone.now())
    return _("The role %(role)s of %(person)s has ended.") % {
        "role": membership.get_role_display(),
        "person": membership.user.display_name(),
    }


def _remove(request: HttpRequest, trial: Trial, user: Any, reason: str) -> str:
    removal = staff_remove(
        actor=request.user, user=user, trial=trial, reason=reason, now=timezone.now()
    )
    done = _("%(person)s no longer holds any role in this trial.") % {"person": user.display_name()}
    if removal.deactivated:
        done += " " + _("Their account had no other role and is now closed.")
    return done


def _approve(request: HttpRequest, trial: Trial, row: RoleGrantRequest, reason: str) -> str:
    role_request_approve(actor=request.user, role_request=row, reason=reason, now=timezone.now())
    return _("Approved: %(person)s now holds the role %(role)s.") % {
        "person": row.user.display_name(),
        "role": row.get_role_display(),
    }


def _reject(request: HttpRequest, trial: Trial, row: RoleGrantRequest, reason: str) -> str:
    role_request_reject(actor=request.user, role_request=row, reason=reason, now=timezone.now())
    return _("The request for %(person)s was turned down.") % {"person": row.user.display_name()}


staff_end_view = _row_action(staff_membership_get, _end, "staff_end_view")
staff_remove_view = _row_action(staff_user_get, _remove, "staff_remove_view")
staff_approve_view = _row_action(role_request_get, _approve, "staff_approve_view")
staff_reject_view = _row_action(role_request_get, _reject, "staff_reject_view")


@login_required
@require_POST
def staff_resend_view(request: HttpRequest, code: str, pk: int) -> HttpResponse:
    trial = staff_trial_get(request.user, code)
    user = staff_user_get(trial, pk)
    try:
        staff_invitation_resend(
            actor=request.user, user=user, trial=trial, site_url=request.build_absolute_uri("/")
        )
    except (PermissionDeniedError, NotFoundError):
        raise
    except DomainError as error:
        return _staff_page(request, trial, error=error.message, status=400)
    return _done(
        request,
        trial,
        _("A new link to choose a password is on its way to %(email)s.") % {"email": user.email},
    )
