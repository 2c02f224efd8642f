"""App configuration for the casebook."""

from django.apps import AppConfig


class CasebookConfig(AppConfig):
    name = "casebook"
    default_auto_field = "django.db.models.BigAutoField"
