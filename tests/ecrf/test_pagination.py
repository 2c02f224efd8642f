"""Every API list pages with one rule: a limit above the maximum is cut to it, a limit or offset
that is not a whole number in range is a 400, and nothing reaches the database as an overflow."""

from __future__ import annotations

from datetime import timedelta

import pytest
from rest_framework.request import Request
from rest_framework.test import APIClient, APIRequestFactory

from accounts.models import User
from accounts.services import system_actor
from alerts.models import AlertKind
from alerts.services import AlertSpec, alerts_raise
from casebook.catalogue import form_type
from ecrf.pagination import MAX_PAGE_SIZE, Pagination
from review.models import LockLevel
from review.services import lock_apply, query_open
from tests.personas import Team
from tests.world import ENTERED, enter_sledai
from trials.models import Participant

# Past the largest signed 64-bit integer: the value that overflowed OFFSET/LIMIT.
HUGE = str(2**63)


@pytest.fixture(autouse=True)
def clock(time_machine):
    time_machine.move_to(ENTERED, tick=False)


@pytest.fixture
def rows(msvle: Team, participant: Participant, data_manager: User) -> Team:
    """One row in each list: the trial, a participant, a query, a lock and an alert."""
    form = enter_sledai(msvle, participant)
    query_open(
        actor=msvle.monitor,
        ftype=form_type("sledai2k"),
        record=form,
        text="Which lab?",
        now=ENTERED,
    )
    lock_apply(
        actor=data_manager,
        level=LockLevel.PARTICIPANT,
        trial=msvle.trial,
        participant=participant,
        reason="Interim cut-off",
        now=ENTERED,
    )
    alerts_raise(
        [
            AlertSpec(
                kind=AlertKind.VISIT_MISSED,
                source_key="test:page",
                participant=participant,
                occurred_at=ENTERED - timedelta(hours=1),
                message="Week 1 missed",
                visit_id=participant.visits.get(code="W1").pk,
            )
        ],
        actor=system_actor(),
        now=ENTERED,
    )
    return msvle


# (list, who reads it); every one of them holds one row in `rows`.
LISTS = [
    ("/api/v1/trials/", "coordinator"),
    ("/api/v1/trials/MSVLE/participants/", "coordinator"),
    ("/api/v1/queries/", "monitor"),
    ("/api/v1/alerts/", "coordinator"),
    ("/api/v1/locks/", "data_manager"),
]
# Lists empty in `rows`, paged by the same code.
OTHER_LISTS = [
    ("/api/v1/exports/", "statistician"),
    ("/api/v1/exports/releases/", "trial_admin"),
    ("/api/v1/trials/MSVLE/sae-clock/", "medical_monitor"),
]


def reader(team: Team, who: str, data_manager: User) -> APIClient:
    api = APIClient()
    api.force_login(data_manager if who == "data_manager" else getattr(team, who))
    return api


@pytest.mark.parametrize(("url", "who"), LISTS)
def test_a_huge_limit_gives_the_largest_page(rows, data_manager, url, who) -> None:
    api = reader(rows, who, data_manager)
    for query in (f"?limit={HUGE}", f"?limit={HUGE}&offset=0", "?limit=100000"):
        response = api.get(url + query)
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["count"] >= 1
        assert len(body["results"]) == body["count"]


# (query, the parameter the 400 names)
OUT_OF_RANGE = [
    ("?limit=abc", "limit"),
    ("?limit=-5", "limit"),
    ("?limit=0", "limit"),
    ("?limit=1.5", "limit"),
    (f"?limit=9{'9' * 5000}", "limit"),
    ("?offset=abc", "offset"),
    ("?offset=-1", "offset"),
    (f"?offset={HUGE}", "offset"),
    (f"?limit={HUGE}&offset=-{HUGE}", "offset"),
]


@pytest.mark.parametrize(("url", "who"), LISTS + OTHER_LISTS)
def test_a_limit_or_offset_out_of_range_is_a_400_naming_it(
    rows,
    data_manager,
    url,
    who,
) -> None:
    api = reader(rows, who, data_manager)
    for query, name in OUT_OF_RANGE:
        response = api.get(url + query)
        assert response.status_code == 400, (query, response.content)
        assert list(response.json()["error"]["fields"]) == [name], query


@pytest.mark.parametrize(("url", "who"), LISTS)
def test_an_offset_past_the_end_is_an_empty_page(rows, data_manager, url, who) -> None:
    response = reader(rows, who, data_manager).get(f"{url}?offset={2**63 - 1}")
    assert response.status_code == 200, response.content
    assert response.json()["results"] == []


def test_the_page_size_is_capped(db) -> None:
    for n in range(MAX_PAGE_SIZE + 2):
        User.objects.create(username=f"u{n}")
    request = Request(APIRequestFactory().get("/", {"limit": HUGE}))
    paginator = Pagination()
    shown = paginator.paginate_queryset(User.objects.order_by("pk"), request)
    assert shown is not None
    assert len(shown) == MAX_PAGE_SIZE
    next_page = paginator.get_paginated_response([]).data["next"]
    assert next_page.endswith(f"limit={MAX_PAGE_SIZE}&offset={MAX_PAGE_SIZE}")
    default = Pagination().paginate_queryset(
        User.objects.order_by("pk"), Request(APIRequestFactory().get("/"))
    )
    assert default is not None
    assert len(default) == 100


def test_the_schema_states_the_page_parameters(client, personas) -> None:
    client.force_login(personas.coordinator_a)
    schema = client.get("/api/schema/", {"format": "json"}).json()
    for path in ("/api/v1/trials/", "/api/v1/queries/", "/api/v1/locks/", "/api/v1/alerts/"):
        parameters = {p["name"]: p for p in schema["paths"][path]["get"]["parameters"]}
        assert parameters["limit"]["schema"]["minimum"] == 1
        assert str(MAX_PAGE_SIZE) in parameters["limit"]["description"]
        assert parameters["offset"]["schema"]["minimum"] == 0
