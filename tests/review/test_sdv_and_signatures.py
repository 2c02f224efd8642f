"""Source data verification and e-signatures: who may, on what, and what a later change voids."""

from __future__ import annotations

import re
from datetime import date

import pytest
from axes.models import AccessAttempt
from django.test import RequestFactory

from assessments.forms_kit import FormScope
from assessments.services import form_not_done, form_save
from casebook.catalogue import form_type
from ecrf.errors import DomainError, InvalidTransitionError, PermissionDeniedError
from review.models import SIGNATURE_MEANING, Signature, SignatureScope, SourceVerification
from review.services import (
    sdv_plan,
    sdv_requirement,
    sdv_selected,
    sdv_verify,
    signature_sign,
)
from review.services.signatures import OutstandingError, signature_outstanding
from tests.assessments.test_renal_form import renal
from tests.casebook.test_review_web import monitor_query
from tests.personas import NOW as SETUP_NOW
from tests.personas import PROTOCOLS
from tests.world import ENTERED, enter_sledai, later, on_study
from trials.protocol import ProtocolError, parse_protocol_text
from trials.services import protocol_load

pytestmark = pytest.mark.usefixtures("after_week24")


@pytest.fixture
def form(msvle, participant):
    return enter_sledai(msvle, participant)


def person(request, msvle, name):
    if name in ("data_manager", "monitor_b"):
        return request.getfixturevalue(name)
    return getattr(msvle, name)


def verify(actor, record, *, form_code="sledai2k", at=1):
    return sdv_verify(actor=actor, form_code=form_code, record=record, now=later(at))


def change_w4(msvle, participant, *, version=1, at=2, reason="Anti-dsDNA was normal"):
    return enter_sledai(
        msvle,
        participant,
        data={"dna": version % 2 == 0},
        expected_version=version,
        reason=reason,
        now=later(at),
    )


# Source data verification -------------------------------------------------------------------


def test_the_monitor_verifies_an_entered_form_once_per_version(msvle, form) -> None:
    sdv = verify(msvle.monitor, form)
    sdv.refresh_from_db()
    assert (sdv.verified_by, sdv.verified_at, sdv.row_version, sdv.form_code) == (
        msvle.monitor,
        later(1),
        1,
        "sledai2k",
    )
    assert (sdv.record, sdv.participant, sdv.voided_at) == (form, form.participant, None)
    assert sdv.history.get().history_user == msvle.monitor
    # Verifying the same version again changes nothing.
    assert verify(msvle.monitor, form, at=2) == sdv
    assert SourceVerification.objects.count() == 1


@pytest.mark.parametrize(
    "name", ["coordinator", "investigator", "data_manager", "medical_monitor", "monitor_b"]
)
def test_only_a_monitor_of_the_site_verifies(request, msvle, form, name) -> None:
    with pytest.raises(PermissionDeniedError):
        verify(person(request, msvle, name), form)
    assert not SourceVerification.objects.exists()


def test_a_form_recorded_as_not_done_is_not_verified(msvle, participant) -> None:
    not_done = form_not_done(
        actor=msvle.coordinator,
        ftype=form_type("sledai2k"),
        participant=participant,
        visit=participant.visits.get(code="W4"),
        reason="Patient too unwell for a full exam",
        now=ENTERED,
    )
    with pytest.raises(InvalidTransitionError, match="entered"):
        verify(msvle.monitor, not_done)
    assert not SourceVerification.objects.exists()


def test_the_default_plan_verifies_every_form(participant) -> None:
    assert sdv_plan(participant) is None


@pytest.fixture
def planned(msvle):
    """A participant under protocol version 1.7, whose SDV plan lists renal and infusion."""
    text = (PROTOCOLS / "nct03673748.yaml").read_text()
    assert 'version: "1.6"\n' in text and "\nparameters:\n" in text
    text = text.replace('version: "1.6"\n', 'version: "1.7"\n', 1)
    # The older way of naming the verified forms, which an sdv_plan section replaces.
    text = re.sub(
        r"\n# Source data verification.*?\nparameters:\n", "\nparameters:\n", text, flags=re.S
    )
    text = text.replace(
        "\nparameters:\n", '\nparameters:\n  sdv_forms:\n    value: "renal, infusion"\n', 1
    )
    definition = parse_protocol_text(text, source="nct03673748-sdv.yaml")
    assert protocol_load(
        actor=msvle.trial_admin, definition=definition, source_name="sdv.yaml", now=SETUP_NOW
    ).created
    participant = on_study(msvle)
    assert participant.protocol_version.label == "1.7"
    return participant


def test_a_form_outside_the_sdv_plan_is_not_verified(msvle, planned) -> None:
    assert sdv_plan(planned) == {"renal", "infusion"}
    sledai = enter_sledai(msvle, planned)
    with pytest.raises(DomainError, match="SDV plan does not include sledai2k"):
        verify(msvle.monitor, sledai)
    assert not SourceVerification.objects.exists()
    kidney = form_save(
        actor=msvle.investigator,
        ftype=form_type("renal"),
        participant=planned,
        visit=planned.visits.get(code="W4"),
        data=renal(date(2026, 4, 1), "1.2", "g/g", "0.9"),
        now=ENTERED,
    )
    assert verify(msvle.monitor, kidney, form_code="renal").object_id == kidney.pk


def test_a_later_change_voids_the_verification_and_a_new_one_is_made(
    msvle, participant, form
) -> None:
    first = verify(msvle.monitor, form)
    other = verify(
        msvle.monitor,
        enter_sledai(msvle, participant, "W8", {"assessment_date": date(2026, 4, 29)}),
    )
    change_w4(msvle, participant, at=2)
    first.refresh_from_db()
    assert first.voided_at == later(2)
    assert "version 2" in first.void_reason
    voided = first.history.order_by("history_id").last()
    assert (voided.history_user, voided.history_change_reason) == (
        msvle.investigator,
        first.void_reason,
    )
    # The other form's verification stands.
    other.refresh_from_db()
    assert other.voided_at is None

    form.refresh_from_db()
    second = verify(msvle.monitor, form, at=3)
    assert second.pk != first.pk
    assert (second.row_version, second.voided_at) == (2, None)
    assert SourceVerification.objects.filter(object_id=form.pk, voided_at__isnull=True).get() == (
        second
    )


# E-signatures -------------------------------------------------------------------------------


def http_request():
    return RequestFactory().post("/review/sign/", REMOTE_ADDR="10.1.2.3")


def sign(
    msvle,
    participant,
    scope,
    *,
    password=None,
    actor=None,
    at=1,
    request=True,
    acknowledged=True,
    **target,
):
    return signature_sign(
        actor=actor or msvle.investigator,
        request=http_request() if request else None,
        password=msvle.password if password is None else password,
        participant=participant,
        scope=scope,
        acknowledged=acknowledged,
        now=later(at),
        **target,
    )


def test_a_visit_with_forms_missing_an_open_query_and_no_sdv_is_signed_only_acknowledged(
    msvle, participant, form
) -> None:
    monitor_query(msvle, form)
    w4 = participant.visits.get(code="W4")
    # Running logs (adverse events, medications) are never missing at a visit.
    logs = {code for code in w4.forms if form_type(code).scope == FormScope.LOG}
    expected = {form_type(code).label for code in w4.forms if code not in logs | {"sledai2k"}}
    assert logs and expected
    with pytest.raises(OutstandingError) as refused:
        sign(msvle, participant, "visit", visit=w4, acknowledged=False)
    message = refused.value.message
    assert message.startswith("Confirm that you sign with these outstanding; nothing was signed.")
    assert "Forms missing at visit W4: " in message
    assert all(str(label) in message for label in expected)
    assert not any(str(form_type(code).label) in message for code in logs)
    assert "Open query on SLEDAI-2K (W4)." in message
    assert "SLEDAI-2K (W4) is not source-verified." in message
    assert refused.value.fields == {"acknowledged": ["Confirm to sign with these outstanding."]}
    assert not Signature.objects.exists()
    # A wrong password is refused first, acknowledged or not.
    with pytest.raises(DomainError, match="password is not correct"):
        sign(msvle, participant, "visit", visit=w4, acknowledged=False, password="guess")
    signed = sign(msvle, participant, "visit", visit=w4, acknowledged=True)
    assert (signed.scope, signed.visit) == (SignatureScope.VISIT, w4)


def test_a_form_with_nothing_outstanding_is_signed_as_before(msvle, participant, form) -> None:
    with pytest.raises(OutstandingError, match=r"is not source-verified\.$"):
        sign(msvle, participant, "form", form_code="sledai2k", record=form, acknowledged=False)
    verify(msvle.monitor, form, at=0.5)
    assert signature_outstanding(participant=participant, form_code="sledai2k", record=form) == []
    signed = sign(msvle, participant, "form", form_code="sledai2k", record=form, acknowledged=False)
    assert signed.scope == SignatureScope.FORM


def test_the_investigator_signs_a_form_a_visit_and_the_casebook(msvle, participant, form) -> None:
    w4 = participant.visits.get(code="W4")
    on_form = sign(msvle, participant, "form", form_code="sledai2k", record=form)
    on_visit = sign(msvle, participant, "visit", visit=w4, at=2)
    casebook = sign(msvle, participant, "casebook", at=3)
    for signature, scope, at in (
        (on_form, "form", 1),
        (on_visit, "visit", 2),
        (casebook, "casebook", 3),
    ):
        signature.refresh_from_db()
        assert (signature.scope, signature.signer, signature.signed_at) == (
            scope,
            msvle.investigator,
            later(at),
        )
        assert signature.printed_name == msvle.investigator.display_name()
        assert signature.printed_name
        assert signature.meaning == SIGNATURE_MEANING
        assert signature.voided_at is None
        assert signature.history.get().history_user == msvle.investigator
    assert (on_form.record, on_form.form_code, on_form.visit) == (form, "sledai2k", None)
    assert (on_visit.visit, on_visit.object_id) == (w4, None)
    assert (casebook.visit, casebook.object_id, casebook.participant) == (None, None, participant)


def test_signing_needs_its_target(msvle, participant) -> None:
    with pytest.raises(DomainError, match="Name the form"):
        sign(msvle, participant, "form")
    with pytest.raises(DomainError, match="Name the visit"):
        sign(msvle, participant, "visit")
    with pytest.raises(DomainError, match="Sign a form, a visit or a casebook"):
        sign(msvle, participant, "page")
    assert not Signature.objects.exists()


@pytest.mark.parametrize("name", ["coordinator", "monitor", "data_manager", "medical_monitor"])
def test_only_the_investigator_signs(request, msvle, participant, name) -> None:
    actor = person(request, msvle, name)
    with pytest.raises(PermissionDeniedError):
        sign(msvle, participant, "casebook", actor=actor)
    assert not Signature.objects.exists()
    # Refused before the password is checked: no failed attempt is counted against them.
    assert not AccessAttempt.objects.filter(username=actor.username).exists()


def test_a_wrong_password_signs_nothing_and_counts_as_a_failed_sign_in(
    client, settings, msvle, participant, form
) -> None:
    investigator = msvle.investigator
    with pytest.raises(DomainError, match="password is not correct") as wrong:
        sign(msvle, participant, "form", form_code="sledai2k", record=form, password="guess")
    assert wrong.value.fields == {"password": ["Incorrect."]}
    assert not Signature.objects.exists()
    assert not Signature.history.exists()
    attempt = AccessAttempt.objects.get(username=investigator.username)
    assert attempt.failures_since_start == 1

    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        with pytest.raises(DomainError):
            sign(msvle, participant, "casebook", password="guess again")
    assert AccessAttempt.objects.get(username=investigator.username).failures_since_start == (
        settings.AXES_FAILURE_LIMIT
    )
    # The account is now locked: neither a sign-in nor a signature with the right password.
    response = client.post(
        "/accounts/login/", {"username": investigator.username, "password": msvle.password}
    )
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    with pytest.raises(DomainError):
        sign(msvle, participant, "casebook")
    assert not Signature.objects.exists()


def test_a_wrong_password_counts_without_a_web_request_too(msvle, participant) -> None:
    with pytest.raises(DomainError, match="password is not correct"):
        sign(msvle, participant, "casebook", password="guess", request=False)
    assert AccessAttempt.objects.get(username=msvle.investigator.username).failures_since_start == 1
    assert not Signature.objects.exists()
    signed = sign(msvle, participant, "casebook", request=False)
    assert signed.scope == SignatureScope.CASEBOOK


def test_a_change_voids_the_form_its_visit_and_the_casebook_signature_only(
    msvle, participant, form
) -> None:
    w8_form = enter_sledai(msvle, participant, "W8", {"assessment_date": date(2026, 4, 29)})
    signed = {
        "form": sign(msvle, participant, "form", form_code="sledai2k", record=form),
        "visit": sign(msvle, participant, "visit", visit=participant.visits.get(code="W4")),
        "casebook": sign(msvle, participant, "casebook"),
        "other_visit": sign(msvle, participant, "visit", visit=participant.visits.get(code="W8")),
        "other_form": sign(msvle, participant, "form", form_code="sledai2k", record=w8_form),
    }
    change_w4(msvle, participant, at=2)
    for signature in signed.values():
        signature.refresh_from_db()
    for name in ("form", "visit", "casebook"):
        signature = signed[name]
        assert signature.voided_at == later(2), name
        assert "version 2" in signature.void_reason
        last = signature.history.order_by("history_id").last()
        assert (last.history_user, last.history_change_reason, last.voided_at) == (
            msvle.investigator,
            signature.void_reason,
            later(2),
        )
    assert signed["other_visit"].voided_at is None
    assert signed["other_form"].voided_at is None
    # Signing again after the change makes a new, valid signature.
    again = sign(msvle, participant, "casebook", at=3)
    assert Signature.objects.filter(scope="casebook", voided_at__isnull=True).get() == again


# The protocol's SDV plan, field by field ------------------------------------------------------


def test_the_shipped_sdv_plans_name_real_fields_and_a_bad_plan_is_refused() -> None:
    for path in sorted(PROTOCOLS.glob("*.yaml")):
        plan = parse_protocol_text(path.read_text()).sdv_plan
        assert plan is not None
        assert (plan["renal"].level, plan["vitals"].level, plan["vitals"].percent) == (
            "all",
            "sampled",
            20,
        )
        assert plan["conmed"].level == "none" and not plan["conmed"].critical
        for code, entry in plan.items():
            if entry.critical:
                assert set(entry.critical) <= set(form_type(code).fields), code
    text = (PROTOCOLS / "nct03673748.yaml").read_text()
    bad = text.replace("  vitals: {level: sampled, percent: 20}", "  vitals: {level: sampled}")
    bad = bad.replace("  conmed: {level: none}", "  xray: {level: none}")
    with pytest.raises(ProtocolError) as refused:
        parse_protocol_text(bad)
    message = str(refused.value)
    assert "at 'sdv_plan.vitals.level': a sampled level needs a percent (1 to 99)" in message
    assert "sdv_plan.xray" in message and "unknown form code 'xray'" in message


def test_sampled_selection_is_deterministic_and_near_the_percent(participant) -> None:
    subjects = [f"S-{n:04d}" for n in range(1000)]
    drawn = [sdv_selected("MSVLE", s, "vitals", 20) for s in subjects]
    assert drawn == [sdv_selected("MSVLE", s, "vitals", 20) for s in subjects]
    assert 150 < sum(drawn) < 250
    assert drawn != [sdv_selected("MSCROLE", s, "vitals", 20) for s in subjects]
    vitals = sdv_requirement(participant, "vitals")
    assert vitals.critical == frozenset()
    assert vitals.full == sdv_selected("MSVLE", participant.subject_id, "vitals", 20)
    # Concomitant medication needs none; pregnancy only its critical field on every record.
    assert not sdv_requirement(participant, "conmed").needed
    pregnancy = sdv_requirement(participant, "pregnancy")
    assert (pregnancy.needed, pregnancy.required(("applicable", "result"))) == (
        True,
        frozenset({"result"}),
    )


def test_fields_are_verified_one_by_one_until_the_form_is_complete(
    request, msvle, form, monitor_b
) -> None:
    fields = form_type("sledai2k").fields

    def mark(actor, chosen, at, **extra):
        return sdv_verify(
            actor=actor,
            form_code="sledai2k",
            record=form,
            now=later(at),
            form_fields=fields,
            fields=chosen,
            **extra,
        )

    for wrong in (msvle.coordinator, monitor_b):
        with pytest.raises(PermissionDeniedError):
            mark(wrong, ["assessment_date"], 1)
    with pytest.raises(DomainError, match="no field xray"):
        mark(msvle.monitor, ["xray"], 1)
    sdv = mark(msvle.monitor, ["assessment_date"], 1)
    assert (sdv.verified_fields, sdv.complete) == (["assessment_date"], False)
    sdv = mark(msvle.monitor, [f for f in fields if f != "dna"], 2)
    assert not sdv.complete and "dna" not in sdv.verified_fields
    sdv = mark(msvle.monitor, ["dna"], 3)
    assert (sorted(sdv.verified_fields), sdv.complete) == (sorted(fields), True)
    assert SourceVerification.objects.count() == 1
    history = list(sdv.history.order_by("history_date"))
    assert [len(h.verified_fields) for h in history] == [1, len(fields) - 1, len(fields)]
    assert history[-1].history_change_reason == "Fields verified: dna"
    assert {h.history_user for h in history} == {msvle.monitor}


def test_field_marks_keep_the_override_rule_and_the_form_button_verifies_the_rest(
    msvle, form
) -> None:
    monitor_query(msvle, form)
    with pytest.raises(DomainError, match="unresolved"):
        sdv_verify(
            actor=msvle.monitor,
            form_code="sledai2k",
            record=form,
            now=later(1),
            form_fields=form_type("sledai2k").fields,
            fields=["assessment_date"],
        )
    sdv = sdv_verify(
        actor=msvle.monitor,
        form_code="sledai2k",
        record=form,
        now=later(2),
        form_fields=form_type("sledai2k").fields,
        override=True,
        reason="Source seen; the query is about a later visit",
    )
    assert sdv.complete and set(sdv.verified_fields) == set(form_type("sledai2k").fields)
    assert (sdv.open_queries, sdv.override_reason) == (
        1,
        "Source seen; the query is about a later visit",
    )


def test_a_change_through_the_api_voids_what_covered_the_form_and_nothing_else(
    msvle, participant, form
) -> None:
    # The API's save reads the record's review marks with the record, locked: what it finds
    # is voided, and another visit's signature stands.
    from rest_framework.test import APIClient

    w8 = enter_sledai(msvle, participant, "W8", {"assessment_date": date(2026, 4, 29)})
    other = sign(msvle, participant, "visit", visit=w8.visit)
    verification = verify(msvle.monitor, form)
    covering = [
        sign(msvle, participant, "form", form_code="sledai2k", record=form),
        sign(msvle, participant, "visit", visit=participant.visits.get(code="W4")),
        sign(msvle, participant, "casebook"),
    ]
    api = APIClient()
    api.force_login(msvle.investigator)
    path = f"/api/v1/participants/{participant.pk}/forms/sledai2k/{form.pk}/"
    body = {"version": 1, "reason": "Anti-dsDNA was normal", "data": {"dna": False}}
    assert api.put(path, body, format="json").status_code == 200
    for mark in (verification, *covering, other):
        mark.refresh_from_db()
    assert all(mark.voided_at is not None for mark in (verification, *covering))
    assert all("version 2" in mark.void_reason for mark in (verification, *covering))
    assert other.voided_at is None


def test_the_marks_read_with_a_record_are_those_a_change_voids(msvle, participant, form) -> None:
    # A save reads whether a verification or signature covers a record in the statement that
    # locks the record (`review_marks_of_records`): the same marks `review_marks_covering`
    # finds, at each scope, and none once voided.
    from assessments.models import SledaiAssessment
    from review.services.records import review_marks_covering, review_marks_of_records

    w8 = enter_sledai(msvle, participant, "W8", {"assessment_date": date(2026, 4, 29)})

    def both():
        read = dict(
            SledaiAssessment.objects.filter(pk__in=[form.pk, w8.pk])
            .annotate(marked=review_marks_of_records(participant.pk, SledaiAssessment))
            .values_list("pk", "marked")
        )
        for record in (form, w8):
            verifications, signatures = review_marks_covering(record)
            assert read[record.pk] == (verifications.exists() or signatures.exists()), record
        return [read[form.pk], read[w8.pk]]

    assert both() == [False, False]
    verify(msvle.monitor, w8)
    assert both() == [False, True]
    sign(msvle, participant, "visit", visit=participant.visits.get(code="W4"))
    assert both() == [True, True]
    change_w4(msvle, participant, at=2)
    form.refresh_from_db()
    assert both() == [False, True]
    sign(msvle, participant, "form", form_code="sledai2k", record=form, at=3)
    assert both() == [True, True]
    change_w4(msvle, participant, version=2, at=4)
    form.refresh_from_db()
    sign(msvle, participant, "casebook", at=5)
    assert both() == [True, True]
