"""App configuration for the flagging jobs."""

from django.apps import AppConfig


class FlaggingConfig(AppConfig):
    name = "flagging"
    default_auto_field = "django.db.models.BigAutoField"
