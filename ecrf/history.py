"""History records that keep the actor's username and full name as they were at the change."""

from __future__ import annotations

from typing import Any

from django.db import models
from simple_history.models import HistoricalRecords


def actor_names(user: Any) -> tuple[str, str]:
    """The username and full name of `user` as they are now, to be kept with a change."""
    if user is None:
        return "", ""
    return user.get_username(), getattr(user, "printed_name", "") or user.get_full_name()


def actor_attrs(user: Any) -> dict[str, str]:
    """The actor's names as history fields, for history rows written in bulk."""
    username, full_name = actor_names(user)
    return {"history_username": username, "history_user_full_name": full_name}


class NamingActors(models.QuerySet[Any]):
    """History rows written in bulk (simple-history's bulk helpers) get their actor's names
    like rows saved one by one."""

    def bulk_create(self, objs: Any, *args: Any, **kwargs: Any) -> Any:
        objs = list(objs)
        wanted = {obj.history_user_id for obj in objs if obj.history_user_id}
        wanted -= {obj.history_user.pk for obj in objs if obj.history_user_id and _cached(obj)}
        users = {user.pk: user for user in self._users(wanted)}
        for obj in objs:
            if obj.history_user_id and not obj.history_username:
                user = obj.history_user if _cached(obj) else users.get(obj.history_user_id)
                for name, value in actor_attrs(user).items():
                    setattr(obj, name, value)
        return super().bulk_create(objs, *args, **kwargs)

    def _users(self, ids: set[int]) -> Any:
        if not ids:
            return []
        return self.model._meta.get_field("history_user").related_model._default_manager.filter(
            pk__in=ids
        )


def _cached(obj: Any) -> bool:
    return obj._meta.get_field("history_user").is_cached(obj)


class HistoricalActor(models.Model):
    """Who made a change, named as they were at that moment: a later change to the user (or
    another user taking the same display name) never rewrites who did past entries."""

    history_username = models.CharField(max_length=150, blank=True, default="")
    history_user_full_name = models.CharField(max_length=300, blank=True, default="")

    objects = NamingActors.as_manager()

    class Meta:
        abstract = True

    def history_actor(self) -> str:
        """ "Full Name (username)", or the username alone when no full name was kept."""
        if not self.history_username:
            return ""
        if self.history_user_full_name:
            return f"{self.history_user_full_name} ({self.history_username})"
        return self.history_username


def audit_history(**options: Any) -> HistoricalRecords:
    """simple-history records that also keep the actor's username and full name."""
    return HistoricalRecords(bases=[HistoricalActor], **options)


def stamp_actor_names(history_instance: Any, history_user: Any = None, **_: Any) -> None:
    if isinstance(history_instance, HistoricalActor) and not history_instance.history_username:
        for name, value in actor_attrs(history_user).items():
            setattr(history_instance, name, value)


def backfill_actor_names(app_label: str) -> Any:
    """A migration step that names the actors of the history records written before names were
    kept, as those users are named when the migration runs (the best record there is)."""

    def backfill(apps: Any, schema_editor: Any) -> None:
        from django.db.models import CharField, OuterRef, Subquery, Value
        from django.db.models.functions import Coalesce, Concat, NullIf, Trim

        users = apps.get_model("accounts", "User").objects.filter(pk=OuterRef("history_user_id"))
        full_name = Coalesce(
            NullIf("printed_name", Value("")),
            Trim(Concat("first_name", Value(" "), "last_name", output_field=CharField())),
        )
        for model in apps.get_app_config(app_label).get_models():
            if not any(f.name == "history_username" for f in model._meta.get_fields()):
                continue
            model.objects.filter(history_user__isnull=False, history_username="").update(
                history_username=Subquery(users.values("username")[:1]),
                history_user_full_name=Subquery(users.annotate(full=full_name).values("full")[:1]),
            )

    return backfill
