"""Every API route, as every role, at its own site, another site and another trial: no server
error, no participant outside the user's scope, no arm for blinded roles, no foreign write."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.ecrf.sweep import World, routes
from tests.ecrf.sweep_check import api_methods, clients, sweep_route, world

pytestmark = pytest.mark.django_db
__all__ = ["api_methods", "clients", "world"]


@pytest.mark.parametrize("route", [r for r in routes() if r.api], ids=lambda r: r.label)
def test_api(route: Any, world: World, clients: dict[str, Client], api_methods: Any) -> None:
    sweep_route(route, world, clients, api_methods)
