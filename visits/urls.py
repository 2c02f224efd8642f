"""Web routes of the participant pages and their visits (in the trials namespace, see ecrf.urls)."""

from django.urls import path

from visits import views

urlpatterns = [
    path("participants/", views.participant_list_view, name="participant-list"),
    path("participants/register/", views.participant_register_view, name="participant-register"),
    path("participants/<int:participant_id>/", views.participant_view, name="participant"),
    path("participants/<int:participant_id>/consent/", views.consent_view, name="consent"),
    path(
        "participants/<int:participant_id>/eligibility/<str:code>/",
        views.eligibility_answer_view,
        name="eligibility-answer",
    ),
    path("participants/<int:participant_id>/confirm/", views.confirm_view, name="confirm"),
    path("participants/<int:participant_id>/reconfirm/", views.reconfirm_view, name="reconfirm"),
    path(
        "participants/<int:participant_id>/screen-fail/", views.screen_fail_view, name="screen-fail"
    ),
    path("participants/<int:participant_id>/randomize/", views.randomize_view, name="randomize"),
    path("participants/<int:participant_id>/enrol/", views.enrol_view, name="enrol"),
    path("participants/<int:participant_id>/day0/", views.day0_view, name="day0"),
    path("participants/<int:participant_id>/withdraw/", views.withdraw_view, name="withdraw"),
    path("participants/<int:participant_id>/lost/", views.lost_view, name="lost"),
    path("participants/<int:participant_id>/complete/", views.complete_view, name="complete"),
    path("participants/<int:participant_id>/unblind/", views.unblind_view, name="unblind"),
    path("participants/<int:participant_id>/allocation/", views.allocation_view, name="allocation"),
]
