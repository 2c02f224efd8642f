"""Web routes for participants and their visits, and the staff pages of a trial."""

from django.urls import path

from trials import staff_views, views

app_name = "trials"

urlpatterns = [
    path("participants/", views.participant_list_view, name="participant-list"),
    path("participants/register/", views.participant_register_view, name="participant-register"),
    path("participants/<int:pk>/", views.participant_view, name="participant"),
    path("participants/<int:pk>/consent/", views.consent_view, name="consent"),
    path(
        "participants/<int:pk>/eligibility/<str:code>/",
        views.eligibility_answer_view,
        name="eligibility-answer",
    ),
    path("participants/<int:pk>/confirm/", views.confirm_view, name="confirm"),
    path("participants/<int:pk>/screen-fail/", views.screen_fail_view, name="screen-fail"),
    path("participants/<int:pk>/randomize/", views.randomize_view, name="randomize"),
    path("participants/<int:pk>/enrol/", views.enrol_view, name="enrol"),
    path("participants/<int:pk>/day0/", views.day0_view, name="day0"),
    path("participants/<int:pk>/withdraw/", views.withdraw_view, name="withdraw"),
    path("participants/<int:pk>/lost/", views.lost_view, name="lost"),
    path("participants/<int:pk>/complete/", views.complete_view, name="complete"),
    path("participants/<int:pk>/unblind/", views.unblind_view, name="unblind"),
    path("participants/<int:pk>/allocation/", views.allocation_view, name="allocation"),
    path("visits/<int:pk>/record/", views.visit_record_view, name="visit-record"),
    path("<slug:code>/staff/", staff_views.staff_view, name="staff"),
    path("<slug:code>/staff/history/", staff_views.staff_history_view, name="staff-history"),
    path("<slug:code>/staff/grant/", staff_views.staff_grant_view, name="staff-grant"),
    path("<slug:code>/staff/invite/", staff_views.staff_invite_view, name="staff-invite"),
    path(
        "<slug:code>/staff/memberships/<int:pk>/end/",
        staff_views.staff_end_view,
        name="staff-end",
    ),
    path(
        "<slug:code>/staff/people/<int:pk>/remove/",
        staff_views.staff_remove_view,
        name="staff-remove",
    ),
    path(
        "<slug:code>/staff/people/<int:pk>/resend-invitation/",
        staff_views.staff_resend_view,
        name="staff-resend",
    ),
    path(
        "<slug:code>/staff/requests/<int:pk>/approve/",
        staff_views.staff_approve_view,
        name="staff-approve",
    ),
    path(
        "<slug:code>/staff/requests/<int:pk>/reject/",
        staff_views.staff_reject_view,
        name="staff-reject",
    ),
]
