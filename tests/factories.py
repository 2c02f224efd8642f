"""factory_boy factories for accounts and trials."""

from __future__ import annotations

import factory

from accounts.models import User
from ecrf.access import Role
from trials.models import Membership, Site, Trial

DEFAULT_PASSWORD = "correct horse battery staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    first_name = "Ana"
    last_name = factory.Sequence(lambda n: f"Test{n}")
    password = factory.PostGenerationMethodCall("set_password", DEFAULT_PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class TrialFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Trial
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"TRIAL{n}")
    title = factory.LazyAttribute(lambda t: f"Trial {t.code}")
    short_title = factory.LazyAttribute(lambda t: t.code)

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        obj = model_class(*args, **kwargs)
        obj._history_user = _fixture_actor()
        obj.save()
        return obj


class SiteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Site

    trial = factory.SubFactory(TrialFactory)
    code = factory.Sequence(lambda n: f"S{n:02d}")
    name = factory.LazyAttribute(lambda s: f"Hospital {s.code}")
    country = "ES"
    time_zone = "Europe/Madrid"

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        obj = model_class(*args, **kwargs)
        obj._history_user = _fixture_actor()
        obj.save()
        return obj


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    trial = factory.SubFactory(TrialFactory)
    site = None
    role = Role.DATA_MANAGER

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        obj = model_class(*args, **kwargs)
        obj._history_user = _fixture_actor()
        obj.full_clean()
        obj.save()
        return obj


def _fixture_actor() -> User:
    from accounts.services import system_actor

    return system_actor()
