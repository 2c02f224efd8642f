"""The investigator's signing desk: completed visits signed together with one password entry,
what each has outstanding, and the visits whose signature a change voided."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from assessments.services.visits import visit_record
from casebook.catalogue import form_type
from ecrf.access import Role
from ecrf.site_time import site_clock_text
from review.models import SIGNATURE_MEANING, Signature, SignatureScope
from review.services import sdv_verify
from review.services.signatures import signature_sign_visits
from tests.casebook.test_review_web import signed_in, text
from tests.personas import member
from tests.world import ENTERED, enter_sledai, later

pytestmark = pytest.mark.usefixtures("after_week24")
DESK = "/review/sign/"


@pytest.fixture
def visits(msvle, participant):
    enter_sledai(msvle, participant)
    done = []
    for code in ("W4", "W8"):
        visit = participant.visits.get(code=code)
        assert visit.target_date is not None
        done.append(
            visit_record(
                actor=msvle.coordinator, visit=visit, actual_date=visit.target_date, now=ENTERED
            )
        )
    return done


def post(client, visits, password, **extra):
    return client.post(
        DESK, {"visit": [v.pk for v in visits], "password": password, **extra}, follow=True
    )


def test_the_investigator_signs_the_chosen_visits_with_one_password(client, msvle, visits) -> None:
    client = signed_in(client, msvle.investigator)
    page = text(client.get(DESK))
    for visit in visits:
        row = re.search(rf'<tr id="visit-{visit.pk}">(.*?)</tr>', page, re.S).group(1)
        assert f'name="visit" value="{visit.pk}"' in row
        assert "Forms missing at visit" in row
    assert "SLEDAI-2K (W4) is not source-verified." in page
    assert text(client.get("/")).count(f'href="{DESK}"') == 1

    assert "The password is not correct; nothing was signed." in text(post(client, visits, "no"))
    refused = text(post(client, visits, msvle.password))
    assert "Confirm that you sign with these outstanding; nothing was signed." in refused
    assert not Signature.objects.exists()

    done = text(post(client, visits, msvle.password, acknowledged="on"))
    assert "2 visits signed." in done
    signatures = list(Signature.objects.order_by("visit__visit_number"))
    assert [(s.scope, s.visit_id) for s in signatures] == [
        (SignatureScope.VISIT, v.pk) for v in visits
    ]
    for signature in signatures:
        assert (signature.signer, signature.signed_at.tzinfo is not None) == (
            msvle.investigator,
            True,
        )
        assert signature.printed_name == msvle.investigator.display_name()
        assert signature.meaning == SIGNATURE_MEANING
        assert signature.history.get().history_user == msvle.investigator
    assert not any(f'id="visit-{v.pk}"' in done for v in visits)

    # A change to W4's SLEDAI-2K voids its signature: the visit is back, to be signed again.
    enter_sledai(
        msvle,
        visits[0].participant,
        data={"dna": False},
        expected_version=1,
        reason="Anti-dsDNA was normal",
        now=later(2),
    )
    again = text(client.get(DESK))
    row = re.search(rf'<tr id="visit-{visits[0].pk}">(.*?)</tr>', again, re.S).group(1)
    assert "To sign again" in row and msvle.investigator.display_name() in row
    assert f'id="visit-{visits[1].pk}"' not in again


def test_other_roles_and_other_sites_are_refused(client, msvle, visits) -> None:
    coordinator = signed_in(Client(), msvle.coordinator)
    assert coordinator.get(DESK).status_code == 403
    assert post(coordinator, visits, msvle.password, acknowledged="on").status_code == 403
    other = member(msvle.trial, Role.INVESTIGATOR, msvle.other_site, "investigator_b")
    other.set_password(msvle.password)
    other.save()
    elsewhere = signed_in(Client(), other)
    assert f'id="visit-{visits[0].pk}"' not in text(elsewhere.get(DESK))
    assert post(elsewhere, visits, msvle.password, acknowledged="on").status_code == 404
    assert not Signature.objects.exists()


def test_the_entry_page_names_what_a_change_would_void(client, msvle, participant, visits) -> None:
    form = form_type("sledai2k").model.objects.get(visit=visits[0])
    sdv_verify(actor=msvle.monitor, form_code="sledai2k", record=form, now=later(1))
    signature_sign_visits(
        actor=msvle.investigator,
        request=None,
        password=msvle.password,
        visits=[visits[0]],
        acknowledged=True,
        now=later(2),
    )
    url = reverse("casebook:entry-edit", args=[participant.pk, "sledai2k", form.pk])
    page = text(signed_in(client, msvle.coordinator).get(url))
    voids = re.search(r'<section class="card" id="voids">(.*?)</section>', page, re.S).group(1)
    zone = participant.site.time_zone
    assert (
        f"the investigator&#x27;s signature of visit W4 (signed by "
        f"{msvle.investigator.display_name()} on {site_clock_text(later(2), zone)})"
    ) in voids
    assert "the source data verification of this form (by " in voids
    assert site_clock_text(later(1), zone) in voids
    # Another visit's form names nothing.
    w8 = enter_sledai(msvle, participant, code="W8")
    other = reverse("casebook:entry-edit", args=[participant.pk, "sledai2k", w8.pk])
    assert 'id="voids"' not in text(client.get(other))


# The same through the API -------------------------------------------------------------------

API = "/api/v1/signatures/visits/"


def api_post(user, visits, password, **extra):
    api = APIClient()
    api.force_login(user)
    return api.post(
        API, {"visits": [v.pk for v in visits], "password": password, **extra}, format="json"
    )


def test_the_api_signs_the_chosen_visits_all_or_nothing(msvle, visits) -> None:
    wrong = api_post(msvle.investigator, visits, "no", acknowledged=True)
    assert wrong.status_code == 400
    assert wrong.json()["error"]["message"] == "The password is not correct; nothing was signed."
    refused = api_post(msvle.investigator, visits, msvle.password)
    assert (refused.status_code, refused.json()["error"]["code"]) == (400, "outstanding")
    message = refused.json()["error"]["message"]
    for visit in visits:
        assert f"{visit.participant.identifier}, {visit.code}: Forms missing at visit" in message
    assert f"{visits[0].participant.identifier}, W4: SLEDAI-2K (W4) is not source-verified." in (
        message
    )
    assert not Signature.objects.exists()

    done = api_post(msvle.investigator, visits, msvle.password, acknowledged=True)
    assert done.status_code == 201, done.content
    assert [(s["scope"], s["visit"]) for s in done.json()] == [("visit", v.pk) for v in visits]
    assert {s["signer"] for s in done.json()} == {msvle.investigator.display_name()}
    assert {s["meaning"] for s in done.json()} == {SIGNATURE_MEANING}
    signatures = Signature.objects.order_by("visit__visit_number")
    assert [(s.visit_id, s.signer, s.printed_name) for s in signatures] == [
        (v.pk, msvle.investigator, msvle.investigator.display_name()) for v in visits
    ]
    # Signed, they no longer await a signature: asked again, they are not found.
    assert api_post(msvle.investigator, visits, msvle.password).status_code == 404
    assert Signature.objects.count() == 2


def test_the_api_refuses_other_roles_and_other_sites(msvle, visits) -> None:
    assert api_post(msvle.coordinator, visits, msvle.password, acknowledged=True).status_code == (
        403
    )
    assert api_post(msvle.monitor, visits, msvle.password, acknowledged=True).status_code == 403
    other = member(msvle.trial, Role.INVESTIGATOR, msvle.other_site, "investigator_b")
    other.set_password(msvle.password)
    other.save()
    assert api_post(other, visits, msvle.password, acknowledged=True).status_code == 404
    # A visit not awaiting a signature among the investigator's own refuses the whole batch.
    later_visit = visits[0].participant.visits.get(code="W12")
    chosen = [*visits, later_visit]
    assert api_post(msvle.investigator, chosen, msvle.password, acknowledged=True).status_code == (
        404
    )
    assert not Signature.objects.exists()
