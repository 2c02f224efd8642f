"""Web routes of the participant pages and their visits (in the trials namespace, see ecrf.urls)."""

from django.urls import path

from visits import views

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
    path("participants/<int:pk>/reconfirm/", views.reconfirm_view, name="reconfirm"),
    path("participants/<int:pk>/screen-fail/", views.screen_fail_view, name="screen-fail"),
    path("participants/<int:pk>/randomize/", views.randomize_view, name="randomize"),
    path("participants/<int:pk>/enrol/", views.enrol_view, name="enrol"),
    path("participants/<int:pk>/day0/", views.day0_view, name="day0"),
    path("participants/<int:pk>/withdraw/", views.withdraw_view, name="withdraw"),
    path("participants/<int:pk>/lost/", views.lost_view, name="lost"),
    path("participants/<int:pk>/complete/", views.complete_view, name="complete"),
    path("participants/<int:pk>/unblind/", views.unblind_view, name="unblind"),
    path("participants/<int:pk>/allocation/", views.allocation_view, name="allocation"),
]
