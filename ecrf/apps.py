"""App configurations for the project package and its admin site."""

from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig


class EcrfConfig(AppConfig):
    name = "ecrf"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from ecrf.audit import install_guard

        install_guard()


class TrialAdminConfig(AdminConfig):
    default_site = "ecrf.admin.TrialAdminSite"
