"""The forms API: enter, read, change with version and reason, history, grid, scoping."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from accounts.services import system_actor
from assessments.models import SledaiAssessment
from review.models import DataQuery
from review.services import CLOSED_BY_CHECK
from tests.assessments.test_sledai_form import EXAMPLE_1
from tests.factories import UserFactory
from tests.openapi import assert_conforms

pytestmark = pytest.mark.usefixtures("after_week24")


@pytest.fixture
def api() -> APIClient:
    return APIClient()


def url(participant, suffix=""):
    return f"/api/v1/participants/{participant.pk}/forms/sledai2k/{suffix}"


def enter_example_1(api, team, participant):
    api.force_login(team.investigator)
    visit = participant.visits.get(code="W4")
    return api.post(
        url(participant),
        {
            "visit": visit.pk,
            "data": {"assessment_date": "2026-04-01", "window_days": 10, **EXAMPLE_1},
        },
        format="json",
    )


def test_enter_worked_example_through_the_api(api, msvle, participant) -> None:
    response = enter_example_1(api, msvle, participant)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["total"] == 16
    assert body["row_version"] == 1
    assert body["derivation"].endswith("= 16")
    assert "PROT 4" in body["derivation"]


def test_derived_total_cannot_be_typed(api, msvle, participant) -> None:
    api.force_login(msvle.investigator)
    visit = participant.visits.get(code="W4")
    response = api.post(
        url(participant),
        {"visit": visit.pk, "data": {"assessment_date": "2026-04-01", "total": 99}},
        format="json",
    )
    # The input serializer has no such field, so the value is ignored, and the server scores 0.
    assert response.status_code == 201
    assert response.json()["total"] == 0


def test_bad_input_gets_field_errors_and_writes_nothing(api, msvle, participant) -> None:
    api.force_login(msvle.investigator)
    visit = participant.visits.get(code="W4")
    for data, field in (
        ({"assessment_date": "2026-13-01"}, "assessment_date"),
        ({"assessment_date": "2026-04-01", "window_days": 20}, "window_days"),
        ({"assessment_date": "2026-04-01", "seiz": True}, "seiz_sle"),
        ({"assessment_date": "2027-01-01"}, "assessment_date"),
        ({"assessment_date": "2026-04-01", "arth_days_before": -3}, "arth_days_before"),
    ):
        response = api.post(url(participant), {"visit": visit.pk, "data": data}, format="json")
        assert response.status_code == 400, (data, response.json())
        error = response.json()["error"]
        flat = {
            **error["fields"],
            **{k: v for d in error["fields"].values() if isinstance(d, dict) for k, v in d.items()},
        }
        assert field in str(flat), (data, error)
    assert api.get(url(participant)).json() == []


def test_change_with_stale_version_is_a_409(api, msvle, participant) -> None:
    record = enter_example_1(api, msvle, participant).json()
    change = {"version": 1, "reason": "Lab range misread", "data": {"dna": False}}
    first = api.put(url(participant, f"{record['id']}/"), change, format="json")
    assert first.status_code == 200
    assert (first.json()["total"], first.json()["row_version"]) == (14, 2)
    stale = api.put(
        url(participant, f"{record['id']}/"), {**change, "data": {"dna": True}}, format="json"
    )
    assert stale.status_code == 409
    assert stale.json()["error"]["code"] == "conflict"
    assert api.get(url(participant, f"{record['id']}/")).json()["dna"] is False


def test_change_without_reason_is_refused(api, msvle, participant) -> None:
    record = enter_example_1(api, msvle, participant).json()
    response = api.put(
        url(participant, f"{record['id']}/"),
        {"version": 1, "reason": "", "data": {"dna": False}},
        format="json",
    )
    assert response.status_code == 400
    assert "reason" in response.json()["error"]["fields"]


def test_second_entry_at_the_same_visit_is_a_conflict(api, msvle, participant) -> None:
    enter_example_1(api, msvle, participant)
    again = enter_example_1(api, msvle, participant)
    assert again.status_code == 409


def test_history_endpoint(api, msvle, participant) -> None:
    record = enter_example_1(api, msvle, participant).json()
    api.put(
        url(participant, f"{record['id']}/"),
        {"version": 1, "reason": "Lab range misread", "data": {"dna": False}},
        format="json",
    )
    api.force_login(msvle.monitor)
    history = api.get(url(participant, f"{record['id']}/history/")).json()
    assert [entry["kind"] for entry in history] == ["created", "changed"]
    assert history[1]["reason"] == "Lab range misread"
    assert {(c["field"], c["old"], c["new"]) for c in history[1]["changes"]} == {
        ("dna", True, False),
        ("total", 16, 14),
    }


def test_monitor_reads_but_cannot_enter(api, msvle, participant) -> None:
    enter_example_1(api, msvle, participant)
    api.force_login(msvle.monitor)
    assert api.get(url(participant)).status_code == 200
    visit = participant.visits.get(code="W8")
    response = api.post(
        url(participant),
        {"visit": visit.pk, "data": {"assessment_date": "2026-04-29"}},
        format="json",
    )
    assert response.status_code == 403


def test_other_site_gets_404_everywhere(api, msvle, participant) -> None:
    record = enter_example_1(api, msvle, participant).json()
    api.force_login(msvle.other_coordinator)
    assert api.get(url(participant)).status_code == 404
    assert api.get(url(participant, f"{record['id']}/")).status_code == 404
    assert api.get(url(participant, f"{record['id']}/history/")).status_code == 404
    change = {"version": 1, "reason": "Lab range misread", "data": {"dna": False}}
    assert api.put(url(participant, f"{record['id']}/"), change, format="json").status_code == 404
    assert api.get(f"/api/v1/participants/{participant.pk}/casebook/").status_code == 404
    visit = participant.visits.get(code="W8")
    assert (
        api.post(url(participant), {"visit": visit.pk, "data": {}}, format="json").status_code
        == 404
    )


def test_pharmacist_never_sees_efficacy_forms(api, msvle, participant) -> None:
    enter_example_1(api, msvle, participant)
    api.force_login(msvle.pharmacist)
    assert api.get(url(participant)).status_code == 404
    grid = api.get(f"/api/v1/participants/{participant.pk}/casebook/").json()
    assert all(cell["form"] != "sledai2k" for row in grid for cell in row["forms"])


def test_casebook_grid(api, msvle, participant) -> None:
    enter_example_1(api, msvle, participant)
    api.force_login(msvle.coordinator)
    grid = api.get(f"/api/v1/participants/{participant.pk}/casebook/").json()
    by_visit = {
        row["visit"]: {cell["form"]: cell["status"] for cell in row["forms"]} for row in grid
    }
    assert by_visit["W4"]["sledai2k"] == "entered"
    assert by_visit["W8"]["sledai2k"] == "missing"
    assert [row["visit"] for row in grid][:3] == ["SEL", "RAND", "D0"]


def test_not_done_through_the_api(api, msvle, participant) -> None:
    api.force_login(msvle.coordinator)
    visit = participant.visits.get(code="W8")
    response = api.post(
        url(participant, "not-done/"),
        {"visit": visit.pk, "reason": "Patient in hospital"},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["entry_status"] == "not_done"


def test_schema_documents_each_form(client, db) -> None:
    client.force_login(UserFactory())  # the schema is for signed-in users
    document = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    assert "/api/v1/participants/{participant_id}/forms/sledai2k/" in document["paths"]
    schemas = document["components"]["schemas"]
    assert {"Sledai2kCreate", "Sledai2kChange", "Sledai2kRecord"} <= set(schemas)
    assert "window_days" in schemas["Sledai2kData"]["properties"]


def test_a_labs_record_not_done_is_what_the_schema_says(api, msvle, participant) -> None:
    """Its range flags are blank, a value the schema allows for a derived choice."""
    api.force_login(msvle.coordinator)
    visit = next(v for v in participant.visits.order_by("visit_number") if "labs" in v.forms)
    base = f"/api/v1/participants/{participant.pk}/forms/labs/"
    saved = api.post(
        f"{base}not-done/", {"visit": visit.pk, "reason": "Sample lost"}, format="json"
    )
    assert saved.status_code == 200, saved.json()
    template = "/api/v1/participants/{participant_id}/forms/labs/"
    assert_conforms(saved, "POST", template + "not-done/")
    assert_conforms(api.get(base), "GET", template)
    assert_conforms(api.get(f"{base}{saved.json()['id']}/"), "GET", template + "{record_id}/")


def test_a_correction_through_the_api_closes_the_automatic_query_of_its_check(
    api, msvle, participant
) -> None:
    api.force_login(msvle.investigator)
    visit = participant.visits.get(code="W4")
    # 10 April lies outside the window of visit W4: the edit check raises a query.
    entered = api.post(
        url(participant),
        {"visit": visit.pk, "data": {"assessment_date": "2026-04-10", **EXAMPLE_1}},
        format="json",
    )
    assert entered.status_code == 201, entered.json()
    record = entered.json()
    automatic = DataQuery.objects.get(automatic=True)
    api.force_login(msvle.monitor)
    asked = api.post(
        "/api/v1/queries/",
        {
            "form_code": "sledai2k",
            "record_id": record["id"],
            "field_name": "assessment_date",
            "text": "Is 10 April the date in the source?",
        },
        format="json",
    )
    assert asked.status_code == 201, asked.json()

    api.force_login(msvle.investigator)
    changed = api.put(
        url(participant, f"{record['id']}/"),
        {
            "version": 1,
            "reason": "Visit date typed wrong",
            "data": {"assessment_date": "2026-04-01"},
        },
        format="json",
    )
    assert changed.status_code == 200, changed.json()
    assert changed.json()["warnings"] == []

    api.force_login(msvle.monitor)
    closed = api.get(f"/api/v1/queries/{automatic.pk}/").json()
    assert (closed["status"], closed["automatic"]) == ("closed", True)
    assert closed["closed_at"] is not None
    assert [(m["action"], m["role"], m["text"]) for m in closed["messages"]] == [
        ("open", "system", "The date lies outside the window of visit W4."),
        ("close", "system", CLOSED_BY_CHECK),
    ]
    correction = SledaiAssessment.history.get(history_id=closed["correction_history_id"])
    assert (correction.history_user, correction.history_change_reason) == (
        msvle.investigator,
        "Visit date typed wrong",
    )
    audit = DataQuery.history.filter(id=automatic.pk).order_by("history_id").last()
    assert (audit.status, audit.history_user, audit.history_change_reason) == (
        "closed",
        system_actor(),
        CLOSED_BY_CHECK,
    )
    # The monitor's own question stays open until the monitor closes it.
    still = api.get(f"/api/v1/queries/{asked.json()['id']}/").json()
    assert (still["status"], [m["action"] for m in still["messages"]]) == ("open", ["open"])


@pytest.mark.parametrize("count", [2, 6])
def test_records_list_query_count_does_not_grow(
    api, msvle, participant, time_machine, count, django_assert_num_queries
) -> None:
    from tests.casebook.test_review_api import many_rows

    time_machine.move_to("2026-09-01 10:00:00+00:00", tick=False)
    many_rows(msvle, participant, count, time_machine)
    api.force_login(msvle.coordinator)
    # 1 session, 2 user, 3 my memberships with their roles (the scope, and may I read: read
    # once), 4 the participant with its site (whose zone the view starts), 5 its consents,
    # 6 the records with visit and site, 7 the visits' laboratory results and 8 renal
    # assessments (what they suggest), 9-11 the session saved again. Nothing per record; no
    # blinding gate, as the form has no allocation-revealing field.
    with django_assert_num_queries(11):
        response = api.get(url(participant))
    assert len(response.json()) == count


def test_changes_through_the_api_open_close_and_reopen_the_automatic_query(
    api, msvle, participant, time_machine
) -> None:
    # The save reads whether the record has automatic queries with the record: one with none
    # and no warning looks for none, and each later change still settles the one it opened.
    from tests.assessments.test_vitals_form import at
    from tests.assessments.test_vitals_form import save as save_vitals

    time_machine.move_to("2026-09-01 10:00:00+00:00", tick=False)
    record = save_vitals(msvle, participant, "D0", at("visit"))
    assert record.warnings == []
    api.force_login(msvle.coordinator)
    path = f"/api/v1/participants/{participant.pk}/forms/vitals/{record.pk}/"

    def change(version: int, heart_rate: int) -> list[str]:
        body = {"version": version, "reason": "Measured again", "data": {"heart_rate": heart_rate}}
        response = api.put(path, body, format="json")
        assert response.status_code == 200, response.json()
        queries = DataQuery.objects.filter(form_code="vitals", object_id=record.pk)
        return list(queries.values_list("status", flat=True))

    assert change(1, 72) == []
    assert change(2, 150) == ["open"]
    assert change(3, 80) == ["closed"]
    assert change(4, 150) == ["open"]


def test_change_through_the_api_in_fixed_queries(
    api, msvle, participant, time_machine, django_assert_num_queries
) -> None:
    from tests.assessments.test_vitals_form import at
    from tests.assessments.test_vitals_form import save as save_vitals

    time_machine.move_to("2026-09-01 10:00:00+00:00", tick=False)
    # Measured outside the W4 window: the warning and its automatic query stay.
    record = save_vitals(msvle, participant, "W4", at("visit"))
    api.force_login(msvle.coordinator)
    path = f"/api/v1/participants/{participant.pk}/forms/vitals/{record.pk}/"
    body = {"version": 1, "reason": "Transcription error", "data": {"heart_rate": 81}}
    # 1 session, 2 user, 3 my memberships with their roles (where they reach, may I read, and
    # then may I enter these fields: read once in the request); in one transaction (4, 11): 5
    # the participant read locked, with its site (whose zone the view starts: the middleware
    # does not look for it), protocol version and first consent; 6 the record locked, read
    # once with its visit, the visit's protocol version, the lock holding it, whether a
    # verification or signature covers it and whether it has automatic queries (none of
    # these is looked for again); its timepoint unchanged, no other record can hold it (the
    # database's constraint); 7 the update and 8 its history, 9 the automatic queries locked
    # (the record keeps a warning); 12-13 the session saved. The rows in hand are not read
    # again, and the answer asks no blinding gate: vital signs reveal no allocation.
    with django_assert_num_queries(13):
        response = api.put(path, body, format="json")
    assert response.status_code == 200, response.json()
    # A record of no such id, or of another participant, is not found.
    missing = path.replace(f"/{record.pk}/", f"/{record.pk + 1000}/")
    assert api.put(missing, body, format="json").status_code == 404
    assert response.json()["row_version"] == 2
    assert DataQuery.objects.filter(automatic=True, status="open").count() == 1
