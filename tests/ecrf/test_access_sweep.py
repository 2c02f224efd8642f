"""Every page route, as every role, at its own site, another site and another trial: no server
error, no participant outside the user's scope, no arm for blinded roles, no foreign write.
The routes and their rules are in tests/ecrf/sweep.py; the API half is test_access_sweep_api."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from tests.ecrf.sweep import RULES, World, routes, rule_for
from tests.ecrf.sweep_check import api_methods, clients, schema_path, sweep_route, world

ROUTES = routes()
# Each test runs in a transaction rolled back after it: a write that got through is undone.
pytestmark = pytest.mark.django_db
__all__ = ["api_methods", "clients", "world"]


def test_every_route_has_a_rule() -> None:
    missing = []
    for route in ROUTES:
        try:
            rule_for(route.name)
        except KeyError:
            missing.append(f"{route.name} ({route.pattern})")
    assert not missing, "Routes with no access rule in tests/ecrf/sweep.py RULES: " + ", ".join(
        missing
    )


def test_every_rule_matches_a_route() -> None:
    names = [route.name for route in ROUTES]
    unused = [p for p in RULES if not any(re.fullmatch(p, name) for name in names)]
    assert not unused


def test_every_api_route_is_in_the_schema(api_methods: dict[str, set[str]]) -> None:
    missing = [schema_path(r) for r in ROUTES if r.api and schema_path(r) not in api_methods]
    # The schema and the docs are the API's description, not operations of it.
    assert set(missing) <= {"/api/schema/", "/api/docs/"}, missing


@pytest.mark.parametrize("route", [r for r in ROUTES if not r.api], ids=lambda r: r.name)
def test_page(route: Any, world: World, clients: dict[str, Client], api_methods: Any) -> None:
    sweep_route(route, world, clients, api_methods)
