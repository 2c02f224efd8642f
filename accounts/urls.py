"""Web routes for accounts."""

from django.contrib.auth import views as auth_views
from django.urls import path

from accounts import views

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("language/", views.set_language, name="set-language"),
    path("two-factor/", views.two_factor_status, name="two-factor"),
    path("two-factor/setup/", views.two_factor_setup, name="two-factor-setup"),
    path("two-factor/verify/", views.two_factor_verify_view, name="two-factor-verify"),
    path("two-factor/recovery-codes/", views.recovery_codes_view, name="two-factor-recovery-codes"),
    path("two-factor/disable/", views.two_factor_disable_view, name="two-factor-disable"),
    path("tokens/", views.tokens_view, name="tokens"),
    path("tokens/<int:token_id>/revoke/", views.token_revoke_view, name="token-revoke"),
    path("set-password/<uidb64>/<token>/", views.SetPasswordView.as_view(), name="set-password"),
    path("set-password/done/", views.SetPasswordDoneView.as_view(), name="set-password-done"),
]
