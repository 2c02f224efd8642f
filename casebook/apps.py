"""App configuration for the casebook."""

from django.apps import AppConfig


class CasebookConfig(AppConfig):
    name = "casebook"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from assessments.forms_kit import form_types_install
        from casebook.catalogue import CATALOGUE

        # The form services find a form by its code among every form the casebook lists.
        form_types_install(CATALOGUE)
