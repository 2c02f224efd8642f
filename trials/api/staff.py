"""API for a trial's administrators: members, role grants and their approval, invitations."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ecrf.access import Role
from trials.api.base import PAGE_PARAMETERS, PageOutput, page, valid
from trials.models import RoleGrantRequest, RoleRequestStatus
from trials.services import (
    membership_end,
    membership_grant,
    role_request_approve,
    role_request_reject,
    staff_invitation_resend,
    staff_invite,
    staff_remove,
)
from trials.services.memberships import REASON_MAX_LENGTH
from trials.staff_selectors import (
    grantee_get,
    role_request_get,
    role_requests,
    staff_members,
    staff_membership_get,
    staff_site_get,
    staff_trial_get,
    staff_user_get,
)

TAGS = ["staff"]
ROLES = " | ".join(Role.values)
REQUEST_STATUSES = " | ".join(RoleRequestStatus.values)


class StaffPersonOutput(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    name = serializers.CharField(source="display_name")
    email = serializers.CharField()
    is_active = serializers.BooleanField(help_text="False: the account is closed.")


class StaffMembershipOutput(serializers.Serializer):
    id = serializers.IntegerField()
    user = StaffPersonOutput()
    site = serializers.CharField(source="site.code", allow_null=True, default=None)
    site_name = serializers.CharField(source="site.name", allow_null=True, default=None)
    role = serializers.CharField(help_text=ROLES)
    role_label = serializers.CharField(source="get_role_display")
    since = serializers.DateTimeField(source="created_at")
    ended_at = serializers.DateTimeField(allow_null=True)


class StaffMembershipPageOutput(PageOutput):
    results = StaffMembershipOutput(many=True)


class StaffPersonRefOutput(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    name = serializers.CharField(source="display_name")


class RoleRequestOutput(serializers.Serializer):
    id = serializers.IntegerField()
    user = StaffPersonRefOutput()
    site = serializers.CharField(source="site.code", allow_null=True, default=None)
    role = serializers.CharField(help_text=ROLES)
    role_label = serializers.CharField(source="get_role_display")
    status = serializers.CharField(help_text=REQUEST_STATUSES)
    status_label = serializers.CharField(source="get_status_display")
    reason = serializers.CharField()
    requested_by = StaffPersonRefOutput()
    requested_at = serializers.DateTimeField()
    decided_by = StaffPersonRefOutput(allow_null=True)
    decided_at = serializers.DateTimeField(allow_null=True)
    decision_reason = serializers.CharField()
    membership_id = serializers.IntegerField(allow_null=True)


class RoleRequestPageOutput(PageOutput):
    results = RoleRequestOutput(many=True)


class StaffReasonInput(serializers.Serializer):
    reason = serializers.CharField(max_length=REASON_MAX_LENGTH)


class GrantInput(StaffReasonInput):
    username = serializers.CharField(max_length=150)
    role = serializers.ChoiceField(choices=Role.choices, help_text=ROLES)
    site = serializers.CharField(
        max_length=6,
        required=False,
        allow_blank=True,
        allow_null=True,
        help_text="Site code, for the roles that work at one site; empty for the others.",
    )


# Memberships -------------------------------------------------------------------------------


class MembershipListView(APIView):
    @extend_schema(
        parameters=PAGE_PARAMETERS,
        responses=StaffMembershipPageOutput,
        operation_id="trial_memberships_list",
        summary="Members of a trial: person, site, role, since (trial administrator)",
        tags=TAGS,
    )
    def get(self, request: Request, code: str) -> Response:
        trial = staff_trial_get(request.user, code)
        return page(request, self, staff_members(trial), StaffMembershipOutput)

    @extend_schema(
        request=GrantInput,
        responses={201: StaffMembershipOutput, 202: RoleRequestOutput},
        operation_id="trial_memberships_grant",
        summary=(
            "Give a person a role (201); unblinded and administrator roles, and roles for "
            "oneself, wait for a second administrator's approval (202)"
        ),
        tags=TAGS,
    )
    def post(self, request: Request, code: str) -> Response:
        trial = staff_trial_get(request.user, code)
        params = valid(GrantInput, request.data)
        grant = membership_grant(
            actor=request.user,
            user=grantee_get(params["username"]),
            trial=trial,
            role=params["role"],
            site=staff_site_get(trial, params.get("site")),
            reason=params["reason"],
            now=timezone.now(),
        )
        return _grant_response(grant)


def _grant_response(grant: Any) -> Response:
    if isinstance(grant, RoleGrantRequest):
        return Response(RoleRequestOutput(grant).data, status=status.HTTP_202_ACCEPTED)
    return Response(StaffMembershipOutput(grant).data, status=status.HTTP_201_CREATED)


class MembershipEndView(APIView):
    @extend_schema(
        request=StaffReasonInput,
        responses=StaffMembershipOutput,
        summary="End a role in the trial, with a reason (trial administrator)",
        tags=TAGS,
    )
    def post(self, request: Request, code: str, membership_id: int) -> Response:
        trial = staff_trial_get(request.user, code)
        membership = staff_membership_get(trial, membership_id)
        params = valid(StaffReasonInput, request.data)
        ended = membership_end(
            actor=request.user, membership=membership, reason=params["reason"], now=timezone.now()
        )
        return Response(StaffMembershipOutput(ended).data)


# Role requests -----------------------------------------------------------------------------


class RoleRequestFilterInput(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=RoleRequestStatus.choices, required=False, help_text=REQUEST_STATUSES
    )


class RoleRequestListView(APIView):
    @extend_schema(
        parameters=[
            *PAGE_PARAMETERS,
            OpenApiParameter("status", OpenApiTypes.STR, description=REQUEST_STATUSES),
        ],
        responses=RoleRequestPageOutput,
        operation_id="trial_role_requests_list",
        summary="Requests for roles that need a second administrator (trial administrator)",
        tags=TAGS,
    )
    def get(self, request: Request, code: str) -> Response:
        trial = staff_trial_get(request.user, code)
        params = valid(RoleRequestFilterInput, request.query_params)
        rows = role_requests(trial, status=params.get("status"))
        return page(request, self, rows, RoleRequestOutput)


class RoleRequestApproveView(APIView):
    @extend_schema(
        request=StaffReasonInput,
        responses=RoleRequestOutput,
        summary=(
            "Approve a role request: the membership is created (another trial administrator "
            "than the requester and the grantee)"
        ),
        tags=TAGS,
    )
    def post(self, request: Request, code: str, request_id: int) -> Response:
        trial = staff_trial_get(request.user, code)
        role_request = role_request_get(trial, request_id)
        params = valid(StaffReasonInput, request.data)
        decided = role_request_approve(
            actor=request.user,
            role_request=role_request,
            reason=params["reason"],
            now=timezone.now(),
        )
        return Response(RoleRequestOutput(decided).data)


class RoleRequestRejectView(APIView):
    @extend_schema(
        request=StaffReasonInput,
        responses=RoleRequestOutput,
        summary="Turn a role request down, with a reason (trial administrator)",
        tags=TAGS,
    )
    def post(self, request: Request, code: str, request_id: int) -> Response:
        trial = staff_trial_get(request.user, code)
        role_request = role_request_get(trial, request_id)
        params = valid(StaffReasonInput, request.data)
        decided = role_request_reject(
            actor=request.user,
            role_request=role_request,
            reason=params["reason"],
            now=timezone.now(),
        )
        return Response(RoleRequestOutput(decided).data)


# People ------------------------------------------------------------------------------------


class InviteInput(GrantInput):
    email = serializers.EmailField()
    first_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    last_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    printed_name = serializers.CharField(
        max_length=200,
        required=False,
        allow_blank=True,
        help_text="The name printed on e-signatures; if empty, the first and last name.",
    )
    language = serializers.ChoiceField(
        choices=settings.LANGUAGES, required=False, default="en", help_text="en | es"
    )


class InviteOutput(serializers.Serializer):
    user = StaffPersonOutput()
    membership = StaffMembershipOutput(allow_null=True)
    request = RoleRequestOutput(allow_null=True, help_text="Set when the role awaits approval.")


class InviteView(APIView):
    @extend_schema(
        request=InviteInput,
        responses={201: InviteOutput},
        summary=(
            "Invite a new person: an account without a password, its first role (or the "
            "request for it), and an e-mail with a one-time link to choose a password"
        ),
        tags=TAGS,
    )
    def post(self, request: Request, code: str) -> Response:
        trial = staff_trial_get(request.user, code)
        params = valid(InviteInput, request.data)
        params["site"] = staff_site_get(trial, params.get("site"))
        invitation = staff_invite(
            actor=request.user,
            trial=trial,
            site_url=request.build_absolute_uri("/"),
            now=timezone.now(),
            **params,
        )
        is_request = isinstance(invitation.grant, RoleGrantRequest)
        data = {
            "user": invitation.user,
            "membership": None if is_request else invitation.grant,
            "request": invitation.grant if is_request else None,
        }
        return Response(InviteOutput(data).data, status=status.HTTP_201_CREATED)


class RemoveOutput(serializers.Serializer):
    user = StaffPersonOutput()
    ended = StaffMembershipOutput(many=True)
    deactivated = serializers.BooleanField(
        help_text="The account had no role left in any trial and is now closed."
    )


class RemoveView(APIView):
    @extend_schema(
        request=StaffReasonInput,
        responses=RemoveOutput,
        summary=(
            "Remove a person from the trial: every role of theirs there ends; an account "
            "left with no role anywhere is closed (trial administrator)"
        ),
        tags=TAGS,
    )
    def post(self, request: Request, code: str, user_id: int) -> Response:
        trial = staff_trial_get(request.user, code)
        user = staff_user_get(trial, user_id)
        params = valid(StaffReasonInput, request.data)
        removal = staff_remove(
            actor=request.user, user=user, trial=trial, reason=params["reason"], now=timezone.now()
        )
        user.refresh_from_db(fields=["is_active"])
        data = {"user": user, "ended": removal.ended, "deactivated": removal.deactivated}
        return Response(RemoveOutput(data).data)


class ResendOutput(serializers.Serializer):
    email = serializers.EmailField(help_text="Where the new link was sent.")


class ResendInvitationView(APIView):
    @extend_schema(
        request=None,
        responses={202: ResendOutput},
        summary=(
            "E-mail a new one-time link to a member who has not chosen a password yet, at the "
            "address on their account (trial administrator)"
        ),
        tags=TAGS,
    )
    def post(self, request: Request, code: str, user_id: int) -> Response:
        trial = staff_trial_get(request.user, code)
        user = staff_user_get(trial, user_id)
        staff_invitation_resend(
            actor=request.user, user=user, trial=trial, site_url=request.build_absolute_uri("/")
        )
        return Response(ResendOutput({"email": user.email}).data, status=status.HTTP_202_ACCEPTED)
