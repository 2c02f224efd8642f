"""Data built once per test module: inside a transaction that is rolled back after the module's
last test, while each test runs in a savepoint within it and gets its own copy of the objects.
A module with a test that commits (a worker process, a live server) builds them per test."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest
from django.db import transaction

T = TypeVar("T")
# The modules with a test that commits (transactional_db, a live server): collected here.
TRANSACTIONAL_MODULES: set[str] = set()


def module_built(
    request: pytest.FixtureRequest, blocker: Any, build: Callable[[], T]
) -> Iterator[T | None]:
    """`build()` once for the module, in a transaction rolled back after its last test; None
    (build per test) in a module whose tests commit."""
    if request.node.nodeid in TRANSACTIONAL_MODULES:
        yield None
        return
    with blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            built = build()
        except BaseException:
            atomic.__exit__(None, None, None)
            raise
    try:
        yield built
    finally:
        with blocker.unblock():
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


def each_test(built: T | None, build: Callable[[], T]) -> T:
    """The test's own copy of what the module built (or, in a module that commits, a new one)."""
    return build() if built is None else copy.deepcopy(built)


def module_fixture(name: str, build: Callable[[], Any]) -> Any:
    """A module-scoped fixture `name` holding `build()` made once for the module (see
    `module_built`); the test's own fixture hands out `each_test(<name>, build)`."""

    @pytest.fixture(scope="module", name=name)
    def built_once(
        request: pytest.FixtureRequest, django_db_setup: None, django_db_blocker: Any
    ) -> Iterator[Any]:
        yield from module_built(request, django_db_blocker, build)

    return built_once
