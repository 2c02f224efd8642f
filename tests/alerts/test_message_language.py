"""Messages kept in English and read in the reader's language: an alert of the visit job, and
an edit check's warning with its automatic query, on the pages and in the API."""

from __future__ import annotations

from datetime import date

import pytest
from django.core import mail
from django.utils import translation

from alerts.models import Alert, AlertKind
from assessments.services.visits import visit_record
from ecrf.messages import Text
from flagging.visits import visits_flag_all
from tests.alerts.test_alerts_api import LATER, OVERDUE_AT
from tests.world import enter_sledai

ALERT_EN = "Visit W1 (Week 1) is past its target date (2026-03-09 to 2026-03-13)."
ALERT_ES = (
    "La visita W1 (Semana 1) ha superado su fecha prevista (ventana del 2026-03-09 al 2026-03-13)."
)
CHECK_EN = "The date lies outside the window of visit W4."
CHECK_ES = "La fecha queda fuera de la ventana de la visita W4."


@pytest.fixture(autouse=True)
def frozen(time_machine):
    time_machine.move_to(LATER, tick=False)


def spanish(user) -> None:
    user.language = "es"
    user.save(update_fields=["language"])


def page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response.content.decode().replace("&#x27;", "'")


def test_a_visit_alert_reads_in_spanish_to_a_spanish_coordinator_and_in_english_to_others(
    client, msvle, participant
) -> None:
    visits_flag_all(now=OVERDUE_AT)
    alert = Alert.objects.get(kind=AlertKind.VISIT_OVERDUE)
    # Kept in English, with the window on the site's calendar, for e-mail, exports and audit.
    assert alert.message == ALERT_EN
    spanish(msvle.coordinator)
    client.force_login(msvle.coordinator)
    for url in ("/alerts/", "/"):
        shown = page(client, url)
        assert ALERT_ES in shown and ALERT_EN not in shown, url
    [row] = client.get("/api/v1/alerts/?kind=visit_overdue").json()["results"]
    assert (row["message"], row["message_shown"]) == (ALERT_EN, ALERT_ES)
    client.force_login(msvle.investigator)
    for url in ("/alerts/", "/"):
        shown = page(client, url)
        assert ALERT_EN in shown and ALERT_ES not in shown, url
    [row] = client.get("/api/v1/alerts/?kind=visit_overdue").json()["results"]
    assert row["message_shown"] == ALERT_EN
    # Recording the visit resolves the alert, in the reader's words too.
    w1 = participant.visits.get(code="W1")
    visit_record(actor=msvle.coordinator, visit=w1, actual_date=date(2026, 3, 16), now=LATER)
    assert "Visit recorded on 2026-03-16" in page(client, "/alerts/?status=resolved&kind=")
    client.force_login(msvle.coordinator)
    assert "Visita registrada el 2026-03-16" in page(client, "/alerts/?status=resolved&kind=")


def test_alert_e_mail_is_in_each_recipients_language(
    msvle, participant, django_capture_on_commit_callbacks
) -> None:
    spanish(msvle.coordinator)
    with django_capture_on_commit_callbacks(execute=True):
        visits_flag_all(now=OVERDUE_AT)
    by_recipient = {address: message for message in mail.outbox for address in message.to}
    to_coordinator = by_recipient[msvle.coordinator.email]
    assert to_coordinator.to == [msvle.coordinator.email]
    assert "alerta(s) nueva(s) del centro" in to_coordinator.subject
    assert f"- Visita vencida: {participant.identifier} — {ALERT_ES}" in to_coordinator.body
    to_investigator = by_recipient[msvle.investigator.email]
    assert "new alert(s) for site" in to_investigator.subject
    assert f"- Visit overdue: {participant.identifier} — {ALERT_EN}" in to_investigator.body


def test_an_edit_check_and_its_query_read_in_the_readers_language(
    client, msvle, participant
) -> None:
    # 10 April lies outside the week 4 window: a warning kept, and an automatic query.
    form = enter_sledai(msvle, participant, data={"assessment_date": date(2026, 4, 10)})
    assert {"field": "assessment_date", "message": CHECK_EN} in [
        {"field": w["field"], "message": w["message"]} for w in form.warnings
    ]
    entry = f"/casebook/{participant.pk}/sledai2k/{form.pk}/"
    review = f"/review/participants/{participant.pk}/sledai2k/{form.pk}/"
    api = f"/api/v1/participants/{participant.pk}/forms/sledai2k/{form.pk}/"
    spanish(msvle.coordinator)
    client.force_login(msvle.coordinator)
    for url in (entry, review, "/"):
        shown = page(client, url)
        assert CHECK_ES in shown and CHECK_EN not in shown, url
    warnings = client.get(api).json()["warnings"]
    assert {"field": "assessment_date", "message": CHECK_EN, "shown": CHECK_ES} in warnings
    client.force_login(msvle.investigator)
    for url in (entry, review):
        shown = page(client, url)
        assert CHECK_EN in shown and CHECK_ES not in shown, url
    # The entry page names the field by its label, never by its stored name.
    shown = page(client, entry)
    assert "<strong>Assessment date</strong>:" in shown
    assert "assessment_date</strong>" not in shown


def test_numbers_take_the_languages_decimal_separator() -> None:
    text = Text("%(value)s %(unit)s is unusual (expected %(low)s to %(high)s); please confirm.")
    text = Text(text.template, value=39.7, unit="°C", low=35, high=39.5)
    assert text.english == "39.7 °C is unusual (expected 35 to 39.5); please confirm."
    with translation.override("es"):
        assert str(text) == "39,7 °C es inusual (se espera de 35 a 39,5); confírmelo."


MISSED_EN = "Visit W1 (Week 1) was not done within its window (2026-03-09 to 2026-03-13)."
MISSED_ES = (
    "La visita W1 (Semana 1) no se hizo dentro de su ventana (del 2026-03-09 al 2026-03-13)."
)


def test_a_drafted_deviation_reads_in_the_readers_language_until_staff_rewrite_it(
    client, msvle, participant
) -> None:
    from assessments.models import ProtocolDeviation
    from assessments.services import form_save
    from casebook.catalogue import form_type
    from tests.alerts.test_alerts_api import MISSED_AT

    visits_flag_all(now=MISSED_AT)
    draft = ProtocolDeviation.objects.get(visit__code="W1")
    # Kept in English for exports and the audit trail, as before.
    assert draft.description == MISSED_EN
    log = f"/casebook/{participant.pk}/deviation/"
    entry = f"{log}{draft.pk}/"
    spanish(msvle.coordinator)
    client.force_login(msvle.coordinator)
    for url in (log, entry):
        shown = page(client, url)
        assert MISSED_ES in shown and MISSED_EN not in shown, url
    record = client.get(f"/api/v1/participants/{participant.pk}/forms/deviation/{draft.pk}/")
    assert (record.json()["description"], record.json()["description_shown"]) == (
        MISSED_EN,
        MISSED_ES,
    )
    client.force_login(msvle.investigator)
    assert MISSED_EN in page(client, log) and MISSED_ES not in page(client, log)

    def confirm(description: str, version: int) -> ProtocolDeviation:
        data = {"severity": "minor", "state": "confirmed", "description": description}
        return form_save(
            actor=msvle.coordinator,
            ftype=form_type("deviation"),
            participant=participant,
            record_id=draft.pk,
            data=data,
            expected_version=version,
            reason="Confirmed at the monitoring visit",
            now=LATER,
        )

    # Confirmed as drafted, it still reads in each reader's language.
    confirmed = confirm(MISSED_EN, draft.row_version)
    with translation.override("es"):
        assert confirmed.shown_description == MISSED_ES
    # Rewritten by staff, it is their text, shown as written.
    rewritten = confirm("Missed: the participant was in hospital.", confirmed.row_version)
    rewritten.refresh_from_db()
    assert (rewritten.description_template, rewritten.description_params) == ("", {})
    with translation.override("es"):
        assert rewritten.shown_description == "Missed: the participant was in hospital."


def test_a_visit_out_of_window_drafts_a_deviation_worded_for_each_reader(
    msvle, participant
) -> None:
    from assessments.models import ProtocolDeviation

    w1 = participant.visits.get(code="W1")
    visit_record(actor=msvle.coordinator, visit=w1, actual_date=date(2026, 3, 16), now=LATER)
    draft = ProtocolDeviation.objects.get(visit=w1, category="visit_window")
    assert draft.description == "Visit W1 (Week 1) took place on 2026-03-16, outside its window."
    with translation.override("es"):
        assert draft.shown_description == (
            "La visita W1 (Semana 1) tuvo lugar el 2026-03-16, fuera de su ventana."
        )
