"""API routes for trials, participants, eligibility, allocation, cohorts and visits."""

from django.urls import path

from trials.api import allocation, participants, protocol
from visits import api as visits_api

urlpatterns = [
    path("trials/", protocol.TrialListView.as_view(), name="trial-list"),
    path("trials/<slug:code>/", protocol.TrialDetailView.as_view(), name="trial-detail"),
    path(
        "trials/<slug:code>/participants/",
        participants.ParticipantListView.as_view(),
        name="participant-list",
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
        "participants/<int:participant_id>/day0/",
        participants.Day0View.as_view(),
        name="participant-day0",
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
        "participants/<int:participant_id>/visits/",
        visits_api.ParticipantVisitsView.as_view(),
        name="participant-visits",
    ),
    path(
        "visits/<int:visit_id>/record/", visits_api.VisitRecordView.as_view(), name="visit-record"
    ),
    path(
        "visits/<int:visit_id>/not-done/",
        visits_api.VisitNotDoneView.as_view(),
        name="visit-not-done",
    ),
    path(
        "visits/<int:visit_id>/unscheduled/",
        visits_api.VisitUnscheduledView.as_view(),
        name="visit-unscheduled",
    ),
    path(
        "cohorts/<int:cohort_id>/safety-review/",
        protocol.SafetyReviewView.as_view(),
        name="cohort-safety-review",
    ),
]
