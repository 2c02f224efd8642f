"""What the home page says a data manager may do is what the forms allow: record protocol
deviations and add dictionary codes to medications and adverse events, each change with a
reason; never a correction of the clinical data the site entered."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from rest_framework.test import APIClient

from assessments.services import form_save
from casebook.catalogue import form_type, form_types
from ecrf.access import ROLE_ABILITIES, Role
from ecrf.errors import DomainError, PermissionDeniedError
from safety.models import CODED_FIELDS as AE_CODED_FIELDS
from tests.factories import MembershipFactory, UserFactory
from tests.personas import Team
from tests.safety.test_adverse_events import HEADACHE
from tests.world import enter_sledai

pytestmark = pytest.mark.usefixtures("after_week24")

NOW = datetime(2026, 9, 1, 10, 0, tzinfo=UTC)
CODES = {"coded_term": "PREDNISONE", "coded_code": "000123", "dictionary_version": "B3 2026"}
AE_CODES = {"pt_code": "10019211", "pt_name": "Headache", "dictionary_version": "MedDRA 28.1"}
DEVIATION = {
    "occurred_on": date(2026, 4, 9),
    "category": "visit_window",
    "description": "Week 4 visit done on day 36, outside its window.",
    "severity": "minor",
    "state": "confirmed",
}
CONMED = {
    "medication": "Prednisone",
    "category": "glucocorticoid",
    "dose": "10",
    "dose_unit": "mg",
    "route": "oral",
    "frequency": "daily",
    "indication": "Lupus nephritis",
    "start_date": "2026-03-10",
    "ongoing": True,
}
# What each advertised ability of the data manager lets them change, by form.
ADVERTISED = {
    "Record and update protocol deviations": {"deviation"},
    "Add dictionary codes to medications and adverse events": {"conmed", "adverse_events"},
}


@pytest.fixture
def data_manager(msvle: Team) -> Any:
    user = UserFactory(username="msvle_data_manager")
    MembershipFactory(user=user, trial=msvle.trial, site=None, role=Role.DATA_MANAGER)
    return user


def save(actor: Any, participant: Any, code: str, data: dict[str, Any], **kwargs: Any) -> Any:
    return form_save(
        actor=actor, ftype=form_type(code), participant=participant, data=data, now=NOW, **kwargs
    )


def test_the_abilities_shown_are_the_forms_a_data_manager_may_change() -> None:
    shown = [str(ability) for ability in ROLE_ABILITIES[Role.DATA_MANAGER]]
    assert "Correct data with a reason" not in shown
    assert set(ADVERTISED) <= set(shown)
    editable = {
        code: sorted(
            name
            for name in ftype.fields
            if Role.DATA_MANAGER in ftype.field_editors.get(name, ftype.editors)
        )
        for code, ftype in form_types().items()
    }
    assert {code for code, names in editable.items() if names} == set().union(*ADVERTISED.values())
    # On medications and adverse events, the codes and nothing else.
    assert editable["conmed"] == sorted(CODES)
    assert editable["adverse_events"] == sorted(AE_CODED_FIELDS)


def test_a_data_manager_codes_a_medication_with_a_reason_and_changes_nothing_else(
    msvle, participant, data_manager
) -> None:
    medication = save(msvle.coordinator, participant, "conmed", CONMED)
    with pytest.raises(DomainError, match="reason"):
        save(
            data_manager, participant, "conmed", CODES, record_id=medication.pk, expected_version=1
        )
    coded = save(
        data_manager,
        participant,
        "conmed",
        CODES,
        record_id=medication.pk,
        expected_version=1,
        reason="Coded with WHODrug",
    )
    assert (coded.coded_term, coded.row_version) == ("PREDNISONE", 2)
    assert coded.history.first().history_change_reason == "Coded with WHODrug"
    with pytest.raises(PermissionDeniedError):
        save(
            data_manager,
            participant,
            "conmed",
            {"dose": "20"},
            record_id=medication.pk,
            expected_version=2,
            reason="Transcription error",
        )
    # A monitor, and the site itself, may not code.
    for actor in (msvle.monitor, msvle.coordinator):
        with pytest.raises(PermissionDeniedError):
            save(
                actor,
                participant,
                "conmed",
                {"coded_term": "OTHER"},
                record_id=medication.pk,
                expected_version=2,
                reason="Recoded",
            )


def test_a_data_manager_codes_an_adverse_event(msvle, participant, data_manager) -> None:
    event = save(msvle.coordinator, participant, "adverse_events", HEADACHE)
    coded = save(
        data_manager,
        participant,
        "adverse_events",
        AE_CODES,
        record_id=event.pk,
        expected_version=1,
        reason="Coded with MedDRA",
    )
    assert (coded.pt_code, coded.verbatim_term) == ("10019211", "Headache after infusion")
    with pytest.raises(PermissionDeniedError):
        save(
            data_manager,
            participant,
            "adverse_events",
            {"ctcae_grade": 1},
            record_id=coded.pk,
            expected_version=2,
            reason="Grade was 1",
        )


def test_a_data_manager_records_and_updates_a_deviation(msvle, participant, data_manager):
    w4 = participant.visits.get(code="W4")
    deviation = save(data_manager, participant, "deviation", DEVIATION, visit=w4)
    changed = save(
        data_manager,
        participant,
        "deviation",
        {"severity": "major"},
        visit=w4,
        record_id=deviation.pk,
        expected_version=1,
        reason="Primary endpoint visit",
    )
    assert (changed.severity, changed.row_version) == ("major", 2)
    with pytest.raises(PermissionDeniedError):
        save(msvle.monitor, participant, "deviation", DEVIATION, visit=w4)


def test_a_data_manager_cannot_correct_clinical_data(msvle, participant, data_manager) -> None:
    sledai = enter_sledai(msvle, participant)
    with pytest.raises(PermissionDeniedError):
        enter_sledai(
            msvle,
            participant,
            data={"arth": True},
            actor=data_manager,
            expected_version=1,
            reason="Source says arthritis",
        )
    sledai.refresh_from_db()
    assert sledai.row_version == 1


def test_the_home_page_shows_the_data_managers_abilities(client, data_manager) -> None:
    client.force_login(data_manager)
    page = client.get("/").content.decode()
    assert "Correct data with a reason" not in page
    for ability in ADVERTISED:
        assert ability in page


def test_the_api_and_the_page_let_a_data_manager_code_and_nothing_more(
    client, msvle, participant, data_manager
) -> None:
    medication = save(msvle.coordinator, participant, "conmed", CONMED)
    api = APIClient()
    api.force_login(data_manager)
    url = f"/api/v1/participants/{participant.pk}/forms/conmed/{medication.pk}/"
    refused = api.put(url, {"version": 1, "reason": "Typo", "data": {"dose": "20"}}, format="json")
    assert refused.status_code == 403
    coded = api.put(url, {"version": 1, "reason": "Coded", "data": CODES}, format="json")
    assert coded.status_code == 200, coded.json()
    assert coded.json()["coded_term"] == "PREDNISONE"
    # The page offers the codes as fields to fill in, and the rest for reading only.
    client.force_login(data_manager)
    page = client.get(f"/casebook/{participant.pk}/conmed/{medication.pk}/")
    assert set(page.context["form"].fields) >= set(CODES)
    assert "dose" not in page.context["form"].fields
