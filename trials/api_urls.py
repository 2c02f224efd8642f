"""API routes for /me, trials, their staff, participants, eligibility, allocation and cohorts."""

from django.urls import path

from trials.api import allocation, me, participants, protocol, staff

urlpatterns = [
    path("me/", me.MeView.as_view(), name="me"),
    path("trials/", protocol.TrialListView.as_view(), name="trial-list"),
    path("trials/<slug:code>/", protocol.TrialDetailView.as_view(), name="trial-detail"),
    path(
        "trials/<slug:code>/memberships/",
        staff.MembershipListView.as_view(),
        name="trial-memberships",
    ),
    path(
        "trials/<slug:code>/memberships/<int:membership_id>/end/",
        staff.MembershipEndView.as_view(),
        name="trial-membership-end",
    ),
    path(
        "trials/<slug:code>/role-requests/",
        staff.RoleRequestListView.as_view(),
        name="trial-role-requests",
    ),
    path(
        "trials/<slug:code>/role-requests/<int:request_id>/approve/",
        staff.RoleRequestApproveView.as_view(),
        name="trial-role-request-approve",
    ),
    path(
        "trials/<slug:code>/role-requests/<int:request_id>/reject/",
        staff.RoleRequestRejectView.as_view(),
        name="trial-role-request-reject",
    ),
    path("trials/<slug:code>/users/", staff.InviteView.as_view(), name="trial-user-invite"),
    path(
        "trials/<slug:code>/users/<int:user_id>/remove/",
        staff.RemoveView.as_view(),
        name="trial-user-remove",
    ),
    path(
        "trials/<slug:code>/users/<int:user_id>/resend-invitation/",
        staff.ResendInvitationView.as_view(),
        name="trial-user-resend-invitation",
    ),
    path("trials/<slug:code>/cohorts/", protocol.CohortListView.as_view(), name="cohort-list"),
    path(
        "trials/<slug:code>/allocation/import/",
        allocation.AllocationImportView.as_view(),
        name="allocation-import",
    ),
    path(
        "trials/<slug:code>/allocation-reads/",
        allocation.AllocationReadListView.as_view(),
        name="allocation-read-list",
    ),
    path(
        "participants/<int:participant_id>/",
        participants.ParticipantDetailView.as_view(),
        name="participant-detail",
    ),
    path(
        "participants/<int:participant_id>/consent/",
        participants.ConsentView.as_view(),
        name="participant-consent",
    ),
    path(
        "participants/<int:participant_id>/eligibility/",
        participants.EligibilityView.as_view(),
        name="participant-eligibility",
    ),
    path(
        "participants/<int:participant_id>/eligibility/confirm/",
        participants.ConfirmEligibilityView.as_view(),
        name="participant-eligibility-confirm",
    ),
    path(
        "participants/<int:participant_id>/eligibility/reconfirm/",
        participants.ReconfirmEligibilityView.as_view(),
        name="participant-eligibility-reconfirm",
    ),
    path(
        "participants/<int:participant_id>/screen-fail/",
        participants.ScreenFailView.as_view(),
        name="participant-screen-fail",
    ),
    path(
        "participants/<int:participant_id>/randomize/",
        participants.RandomizeView.as_view(),
        name="participant-randomize",
    ),
    path(
        "participants/<int:participant_id>/enrol/",
        participants.EnrolView.as_view(),
        name="participant-enrol",
    ),
    path(
        "participants/<int:participant_id>/withdraw/",
        participants.WithdrawView.as_view(),
        name="participant-withdraw",
    ),
    path(
        "participants/<int:participant_id>/lost-to-follow-up/",
        participants.LostToFollowUpView.as_view(),
        name="participant-lost-to-follow-up",
    ),
    path(
        "participants/<int:participant_id>/complete/",
        participants.CompleteView.as_view(),
        name="participant-complete",
    ),
    path(
        "participants/<int:participant_id>/unblind/",
        allocation.UnblindView.as_view(),
        name="participant-unblind",
    ),
    path(
        "participants/<int:participant_id>/allocation/",
        allocation.AllocationView.as_view(),
        name="participant-allocation",
    ),
    path(
        "cohorts/<int:cohort_id>/safety-review/",
        protocol.SafetyReviewView.as_view(),
        name="cohort-safety-review",
    ),
]
