"""App configuration for accounts: the reactions to sign-in and to an account lockout."""

from __future__ import annotations

from typing import Any

from django.apps import AppConfig


def _on_sign_in(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    from accounts.two_factor import remember_device_at_sign_in

    if request is not None:
        remember_device_at_sign_in(request, user)


def _on_lockout(sender: Any, username: str | None = None, **kwargs: Any) -> None:
    # A locked account keeps nothing open: its sessions end and its tokens are revoked.
    from django.utils import timezone

    from accounts.services import user_end_access_on_lockout

    if username:
        user_end_access_on_lockout(username=username, now=timezone.now())


class AccountsConfig(AppConfig):
    name = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from axes.signals import user_locked_out
        from django.contrib.auth.models import update_last_login
        from django.contrib.auth.signals import user_logged_in

        from accounts.services import record_sign_in
        from accounts.two_factor import check_required_roles_setting

        check_required_roles_setting()
        # A sign-in is not a change to the account: keep it out of the account's history.
        user_logged_in.disconnect(update_last_login, dispatch_uid="update_last_login")
        user_logged_in.connect(record_sign_in, dispatch_uid="accounts.record_sign_in")
        user_logged_in.connect(_on_sign_in, dispatch_uid="accounts.two_factor.sign_in")
        user_locked_out.connect(_on_lockout, dispatch_uid="accounts.end_access_on_lockout")
