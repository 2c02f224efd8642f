"""App configuration for review."""

from django.apps import AppConfig


class ReviewConfig(AppConfig):
    name = "review"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from ecrf.audit import guard_writes
        from review.locks import refuse_locked_write

        # Every save of participant data under an active lock is refused, after the actor check.
        guard_writes(refuse_locked_write, dispatch_uid="review.locks.refuse_locked_write")
