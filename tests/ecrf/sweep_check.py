"""Fixtures and the check of the access sweep, shared by its page and API halves."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator

from accounts.services import token_create
from ecrf.access import SITE_ROLES
from tests.ecrf.sweep import (
    BLINDED,
    PRINTED_BY,
    ROLES,
    SCOPES,
    UNSAFE,
    Rule,
    World,
    ask,
    body_of,
    build_world,
    client_for,
    fingerprint,
    kwargs_for,
    revealing_names,
    rule_for,
    shows_an_arm,
)
from tests.factories import DEFAULT_PASSWORD


@pytest.fixture(scope="module")
def world(django_db_setup: None, django_db_blocker: Any) -> Iterator[World]:
    """Built once for the module and rolled back after its last test."""
    with django_db_blocker.unblock(), transaction.atomic():
        built = build_world()
        for role, user in built.users.items():
            built.tokens[role], _key = token_create(
                user=user, name=f"{role} token", password=DEFAULT_PASSWORD, now=timezone.now()
            )
        yield built
        transaction.set_rollback(True)


@pytest.fixture(scope="module")
def clients(world: World, django_db_blocker: Any) -> dict[str, Client]:
    with django_db_blocker.unblock():
        return {role: client_for(user) for role, user in world.users.items()}


@pytest.fixture(scope="module")
def api_methods(django_db_blocker: Any) -> dict[str, set[str]]:
    """The methods the OpenAPI schema documents for each API path."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return {
        path: {method for method in operations if method in ("get", *UNSAFE)}
        for path, operations in schema["paths"].items()
    }


def foreign(role: str, scope: str, rule: Rule) -> bool:
    """Whether the scope's records are outside what the role may see: another trial or site,
    or (for a person's own records, such as API tokens) another person's."""
    if rule.owner == "own":
        return scope != "own"
    if rule.owner != "trial" or (role == "operator" and rule.operators_manage):
        return False
    if role in ("outsider", "operator") or scope == "trial":
        return True
    return scope == "site" and role in SITE_ROLES


def schema_path(route: Any) -> str:
    """The route as the OpenAPI schema writes it: /api/v1/participants/{participant_id}/."""
    path = "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route.pattern)
    # The schema lists a form route once per form, the form's code in the path.
    return path.replace("{form_code}", route.form) if route.form else path


def methods_of(route: Any, api_methods: dict[str, set[str]]) -> list[str]:
    if not route.api:
        return ["get", "post"]
    path = schema_path(route)
    return sorted(api_methods.get(path, {"get"}))


def scopes_for(role: str, route: Any) -> tuple[str, ...]:
    """The scopes worth asking: a route without parameters shows the same page whatever the
    scope; only a role at named sites sees the other site differently from its own (a
    trial-wide role sees both alike, someone with no role in the trial neither)."""
    if not route.params:
        return ("own",)
    return SCOPES if role in SITE_ROLES else ("own", "trial")


def sweep_route(route: Any, world: World, clients: dict[str, Client], api_methods: Any) -> None:
    """Request `route` as every role in every scope; assert what the module says."""
    rule = rule_for(route.name)
    names = revealing_names(world)
    every = world.all_identifiers()
    problems: list[str] = []
    bound_foreign = False
    for role in ROLES:
        hidden = every - world.visible_identifiers(role)
        for scope in scopes_for(role, route):
            kwargs = kwargs_for(route, world.scopes[scope], world, role)
            if kwargs is None:
                continue
            url = reverse(route.name, kwargs=kwargs)
            is_foreign = bool(route.params) and foreign(role, scope, rule)
            bound_foreign |= is_foreign
            if rule.prints and not is_foreign and role != PRINTED_BY:
                continue
            for method in methods_of(route, api_methods):
                if method != "get" and not is_foreign:
                    continue
                before = fingerprint() if method != "get" else None
                response = ask(clients[role], method, url, route.api)
                where = f"{method.upper()} {url} as {role} ({scope})"
                if response.status_code >= 500 and not (
                    rule.may_be_unavailable and response.status_code == 503
                ):
                    problems.append(f"{where}: {response.status_code}")
                    continue
                text = body_of(response)
                if leaked := sorted(i for i in hidden if i in text):
                    problems.append(f"{where}: shows {leaked[:3]}")
                arm = "" if rule.describes_the_api else shows_an_arm(text, names)
                if role in BLINDED and arm:
                    problems.append(f"{where}: shows an arm ({arm})")
                if before is not None:
                    if fingerprint() != before:
                        problems.append(f"{where}: wrote ({response.status_code})")
                    if response.status_code < 400:
                        problems.append(f"{where}: answered {response.status_code}")
    if rule.owner == "trial" and route.params:
        assert bound_foreign, f"{route.name}: the sweep has no foreign record to name"
    assert not problems, "\n".join(problems[:40])
