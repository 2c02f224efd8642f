"""The visits awaiting the investigator's signature through the API: what each has
outstanding, those a change voided, only the investigator's own sites, and a query count that
does not grow with the visits."""

from __future__ import annotations

import json
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from assessments.services.visits import visit_record
from casebook.catalogue import form_type
from casebook.outstanding import signature_outstanding, visits_outstanding
from ecrf.access import Role
from review.services import query_open, sdv_verify
from review.services.signatures import signature_sign_visits
from tests.casebook.blinding import leaks
from tests.personas import member
from tests.world import ENTERED, enter_sledai, later, on_study
from trials.models import AllocationSlot
from visits.models import Visit, VisitStatus

pytestmark = pytest.mark.usefixtures("after_week24")
API = "/api/v1/signatures/visits/"


def completed(team, participant, codes=("W4", "W8")):
    done = []
    for code in codes:
        visit = participant.visits.get(code=code)
        assert visit.target_date is not None
        if visit.status != VisitStatus.COMPLETED:
            visit = visit_record(
                actor=team.coordinator, visit=visit, actual_date=visit.target_date, now=ENTERED
            )
        done.append(visit)
    return done


def due(participant) -> set[int]:
    """The participant's completed visits: all await a signature until one is signed."""
    return set(participant.visits.filter(status=VisitStatus.COMPLETED).values_list("pk", flat=True))


@pytest.fixture
def visits(msvle, participant):
    enter_sledai(msvle, participant)
    return completed(msvle, participant)


def get(user, **params):
    api = APIClient()
    api.force_login(user)
    return api.get(API, params)


def test_the_investigator_lists_the_visits_awaiting_signature(msvle, participant, visits) -> None:
    response = get(msvle.investigator)
    assert response.status_code == 200, response.content
    body = response.json()
    rows = {row["id"]: row for row in body["results"]}
    assert set(rows) == due(participant) >= {v.pk for v in visits}
    assert body["count"] == len(rows)
    w4 = rows[visits[0].pk]
    assert w4["participant"] == {"id": participant.pk, "identifier": participant.identifier}
    assert (w4["trial"], w4["site"], w4["time_zone"]) == (
        msvle.trial.code,
        participant.site.code,
        participant.site.time_zone,
    )
    assert (w4["code"], w4["name"]) == ("W4", visits[0].name)
    assert w4["actual_date"] == visits[0].actual_date.isoformat()
    assert (w4["to_sign_again"], w4["voided_signature"]) == (False, None)
    # The signing page's sentences, as it shows them.
    expected = signature_outstanding(participant=participant, visit=visits[0])
    assert w4["outstanding"] == {
        "missing": expected.missing,
        "queries": expected.queries,
        "unverified": expected.unverified,
    }
    assert w4["outstanding"]["missing"][0].startswith("Forms missing at visit W4")
    assert w4["outstanding"]["unverified"] == ["SLEDAI-2K (W4) is not source-verified."]

    signature_sign_visits(
        actor=msvle.investigator,
        request=None,
        password=msvle.password,
        visits=list(Visit.objects.filter(pk__in=rows)),
        acknowledged=True,
        now=later(1),
    )
    assert get(msvle.investigator).json()["count"] == 0

    # A change to W4's SLEDAI-2K voids its signature: W4 is due again, first.
    enter_sledai(
        msvle,
        participant,
        data={"dna": False},
        expected_version=1,
        reason="Anti-dsDNA was normal",
        now=later(2),
    )
    again = get(msvle.investigator).json()
    assert [row["id"] for row in again["results"]] == [visits[0].pk]
    row = again["results"][0]
    assert row["to_sign_again"] is True
    voided = row["voided_signature"]
    assert voided["signer"] == msvle.investigator.display_name()
    assert voided["void_reason"].startswith("Data changed after verification or signature")
    # Its times on the site's clock, with the site's offset.
    offset = later(2).astimezone(ZoneInfo(participant.site.time_zone)).isoformat()[-6:]
    assert voided["voided_at"].endswith(offset) and voided["signed_at"].endswith(offset)


def test_the_outstanding_read_together_equals_each_visit_read_alone(
    msvle, participant, visits
) -> None:
    form = form_type("sledai2k").model.objects.get(visit=visits[0])
    query_open(
        actor=msvle.monitor,
        ftype=form_type("sledai2k"),
        record=form,
        field_name="dna",
        text="Which lab report shows anti-dsDNA?",
        now=later(1),
    )
    w8 = enter_sledai(msvle, participant, code="W8")
    # Its entry raised an automatic query: verified over it, with a reason.
    sdv_verify(
        actor=msvle.monitor,
        form_code="sledai2k",
        record=w8,
        now=later(1),
        override=True,
        reason="Seen on the source",
    )
    other = on_study(msvle)
    enter_sledai(msvle, other)
    chosen = [*visits, *completed(msvle, other, codes=("W4",))]
    together = visits_outstanding(
        list(Visit.objects.filter(pk__in=[v.pk for v in chosen]).order_by("pk"))
    )
    # Each visit read alone, as the signing service reads it before a signature.
    alone = {v.pk: signature_outstanding(participant=v.participant, visit=v) for v in chosen}
    assert together == alone
    assert together[visits[0].pk].queries == ["Open query on SLEDAI-2K (W4)."]
    assert together[visits[1].pk].unverified == []
    assert together[visits[1].pk].queries


def test_an_investigator_of_another_site_sees_none_of_them(msvle, participant, visits) -> None:
    other = member(msvle.trial, Role.INVESTIGATOR, msvle.other_site, "investigator_b")
    assert get(other).json()["count"] == 0
    # Naming the participant of another site gives nothing either.
    named = get(other, participant=participant.pk)
    assert (named.status_code, named.json()["count"]) == (200, 0)
    # The investigator's own filters narrow to theirs.
    assert get(msvle.investigator, participant=participant.pk).json()["count"] == len(
        due(participant)
    )
    assert get(msvle.investigator, site=msvle.other_site.code).json()["count"] == 0
    assert get(msvle.investigator, trial="NOPE").json()["count"] == 0


def test_other_roles_are_refused(msvle, visits) -> None:
    data_manager = member(msvle.trial, Role.DATA_MANAGER, None, "msvle_dm")
    for user in (msvle.coordinator, msvle.monitor, data_manager, msvle.pharmacist):
        response = get(user)
        assert response.status_code == 403, user.username
        assert "results" not in response.json()


def test_the_list_reveals_no_allocation(msvle, participant, infusion) -> None:
    # The pharmacist's infusion record (kit, lot, cell counts) is at D0, which is done.
    (d0,) = completed(msvle, participant, codes=("D0",))
    body = get(msvle.investigator).json()
    assert d0.pk in {row["id"] for row in body["results"]}
    assert leaks(body) == set()
    slot = AllocationSlot.objects.get(participant=participant)
    text = json.dumps(body)
    assert f'"{slot.arm_code}"' not in text and "arm" not in {
        key for row in body["results"] for key in row
    }


def test_the_query_count_does_not_grow_with_the_visits(msvle, participant) -> None:
    enter_sledai(msvle, participant)
    completed(msvle, participant)

    def count() -> tuple[int, int]:
        api = APIClient()
        api.force_login(msvle.investigator)
        with CaptureQueriesContext(connection) as queries:
            response = api.get(API)
        assert response.status_code == 200
        return len(queries), response.json()["count"]

    small = count()
    for _ in range(3):
        more = on_study(msvle)
        enter_sledai(msvle, more)
        visit = completed(msvle, more)[0]
        form = form_type("sledai2k").model.objects.get(visit=visit)
        query_open(
            actor=msvle.monitor,
            ftype=form_type("sledai2k"),
            record=form,
            text="Which?",
            now=later(1),
        )
    larger = count()
    assert larger[1] == 4 * small[1]
    # Session and user, the investigator check, the memberships, the count, the page, the
    # protocol versions, the voided signatures, one per form type collected at a visit, the
    # open queries and the verifications: 20 on SQLite and PostgreSQL, the same for one
    # participant's visits and four's.
    assert larger[0] == small[0] == 20
