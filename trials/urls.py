"""Web routes of the staff pages of a trial (in the trials namespace, composed in ecrf.urls)."""

from django.urls import path

from trials import staff_views

urlpatterns = [
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
