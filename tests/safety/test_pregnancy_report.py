"""The pregnancy report: its 24-hour clock and late alert, the reminder to follow it to its
outcome, the exposure read from the infusion forms without the arm, who may enter it, and
clear refusals of dates that cannot be."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from rest_framework.test import APIClient

from alerts.models import Alert, AlertKind
from assessments.services import form_save
from casebook.catalogue import form_type
from ecrf.errors import DomainError, PermissionDeniedError
from flagging.late_reports import late_reports_flag_all
from safety.models import PregnancyReport
from tests.assessments.test_infusion_form import ADMINISTRATION
from tests.assessments.test_infusion_form import NOW as INFUSED
from tests.assessments.test_infusion_form import save as save_infusion

AWARE = datetime(2026, 4, 18, 8, 30, tzinfo=UTC)  # 10:30 in Madrid
ENTERED = AWARE + timedelta(hours=3)
DUE = AWARE + timedelta(hours=24)
MINUTE = timedelta(minutes=1)
PREGNANT = {
    "site_awareness_at": AWARE,
    "last_menstrual_period": date(2026, 3, 20),
    "estimated_due_date": date(2026, 12, 25),  # 280 days after the last period
}
# 30 days' grace after 2026-12-25: chased from the start of 2027-01-25 in Madrid (UTC+1).
OUTCOME_DUE = datetime(2027, 1, 24, 23, 0, tzinfo=UTC)


def report(team, participant, data=None, *, actor=None, record=None, now=ENTERED):
    saved: PregnancyReport = form_save(
        actor=actor or team.coordinator,
        ftype=form_type("pregnancy_report"),
        participant=participant,
        data=PREGNANT if data is None else data,
        record_id=record.pk if record else None,
        expected_version=record.row_version if record else None,
        reason="Follow-up" if record else "",
        now=now,
    )
    return saved


def alerts(kind):
    return Alert.objects.filter(kind=kind)


def test_the_report_is_due_24_hours_after_the_site_learns_of_the_pregnancy(
    msvle, participant
) -> None:
    pregnancy = report(msvle, participant)
    assert pregnancy.report_due_at == DUE
    assert pregnancy.outcome_due_at == OUTCOME_DUE
    explained = form_type("pregnancy_report").explain(pregnancy)
    assert "Report due to the sponsor 2026-04-19 10:30 (Europe/Madrid)" in explained
    assert "UTC" not in explained


def test_an_unreported_pregnancy_is_flagged_late_once_at_its_deadline(msvle, participant) -> None:
    pregnancy = report(msvle, participant)
    late_reports_flag_all(now=DUE - MINUTE)
    assert not alerts(AlertKind.PREGNANCY_LATE).exists()
    late_reports_flag_all(now=DUE)
    alert = alerts(AlertKind.PREGNANCY_LATE).get()
    assert (alert.pregnancy_report, alert.occurred_at, alert.site) == (
        pregnancy,
        DUE,
        participant.site,
    )
    assert alert.message == (
        "The pregnancy was not reported to the sponsor within 24 hours "
        "(due 2026-04-19 10:30 (Europe/Madrid))."
    )
    late_reports_flag_all(now=DUE + MINUTE)
    late_reports_flag_all(now=DUE + timedelta(days=2))
    assert alerts(AlertKind.PREGNANCY_LATE).count() == 1


def test_a_pregnancy_reported_in_time_is_not_flagged(msvle, participant) -> None:
    pregnancy = report(msvle, participant)
    report(msvle, participant, {"sponsor_reported_at": DUE}, record=pregnancy, now=DUE)
    late_reports_flag_all(now=DUE + timedelta(days=2))
    assert not alerts(AlertKind.PREGNANCY_LATE).exists()


def test_an_outcome_not_recorded_after_the_due_date_and_grace_is_chased_once(
    msvle, participant
) -> None:
    pregnancy = report(msvle, participant, {**PREGNANT, "sponsor_reported_at": ENTERED})
    pregnancy = report(
        msvle, participant, {"outcome": "ongoing"}, record=pregnancy, now=ENTERED + MINUTE
    )
    late_reports_flag_all(now=OUTCOME_DUE - MINUTE)
    assert not alerts(AlertKind.PREGNANCY_OUTCOME).exists()
    late_reports_flag_all(now=OUTCOME_DUE)
    alert = alerts(AlertKind.PREGNANCY_OUTCOME).get()
    assert alert.occurred_at == OUTCOME_DUE
    assert "estimated due date (2026-12-25) has passed and no outcome" in alert.message
    late_reports_flag_all(now=OUTCOME_DUE + MINUTE)
    assert alerts(AlertKind.PREGNANCY_OUTCOME).count() == 1


def test_a_recorded_outcome_is_not_chased(msvle, participant) -> None:
    pregnancy = report(msvle, participant, {**PREGNANT, "sponsor_reported_at": ENTERED})
    born = datetime(2026, 12, 28, 12, 0, tzinfo=UTC)
    pregnancy = report(
        msvle,
        participant,
        {"outcome": "live_birth", "outcome_date": date(2026, 12, 27)},
        record=pregnancy,
        now=born,
    )
    assert pregnancy.outcome_due_at is None
    late_reports_flag_all(now=OUTCOME_DUE + timedelta(days=10))
    assert not alerts(AlertKind.PREGNANCY_OUTCOME).exists()


def test_a_congenital_anomaly_asks_for_an_sae(msvle, participant) -> None:
    pregnancy = report(msvle, participant)
    born = datetime(2026, 12, 28, 12, 0, tzinfo=UTC)
    pregnancy = report(
        msvle,
        participant,
        {"outcome": "congenital_anomaly", "outcome_date": date(2026, 12, 27)},
        record=pregnancy,
        now=born,
    )
    assert {
        "field": "outcome",
        "message": "A congenital anomaly is a serious adverse event: report it as an SAE "
        "(adverse event with the congenital anomaly criterion) within 24 hours.",
    } in [{"field": w["field"], "message": w["message"]} for w in pregnancy.warnings]


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (
            {"outcome": "spontaneous_abortion", "outcome_date": date(2026, 4, 17)},
            "outcome_date",
            "The outcome date is before the site became aware of the pregnancy (2026-04-18).",
        ),
        (
            {"estimated_due_date": date(2062, 12, 25)},
            "estimated_due_date",
            "A due date of 2062-12-25 is more than 4 weeks from the one the last menstrual "
            "period gives (2026-12-25); check both dates.",
        ),
        (
            {"last_menstrual_period": None, "estimated_due_date": date(2028, 6, 1)},
            "estimated_due_date",
            "A due date of 2028-06-01 is more than 44 weeks from the day the site became "
            "aware (2026-04-18); check the date.",
        ),
        (
            {"outcome": "live_birth"},
            "outcome_date",
            "Give the date of the outcome.",
        ),
        (
            {"sponsor_reported_at": AWARE - MINUTE},
            "sponsor_reported_at",
            "The report cannot reach the sponsor before awareness.",
        ),
    ],
    ids=["outcome-before-awareness", "due-date-far-from-lmp", "due-date-absurd", "no-date", "rep"],
)
def test_impossible_dates_are_refused_with_a_clear_message(
    msvle, participant, data, field, message
) -> None:
    with pytest.raises(DomainError) as error:
        report(msvle, participant, {**PREGNANT, **data})
    assert error.value.fields[field] == [message]
    assert not PregnancyReport.objects.exists()


def test_only_the_participants_site_staff_enter_it(msvle, participant) -> None:
    for user in (msvle.other_coordinator, msvle.monitor, msvle.medical_monitor):
        with pytest.raises(PermissionDeniedError):
            report(msvle, participant, actor=user)
    assert not PregnancyReport.objects.exists()
    assert report(msvle, participant, actor=msvle.investigator)


def test_the_exposure_is_read_from_the_infusions_and_blinded_roles_see_no_arm(
    msvle, participant
) -> None:
    save_infusion(msvle, participant, ADMINISTRATION, now=INFUSED)
    pregnancy = report(msvle, participant)
    assert pregnancy.exposed_infusion_dates == "2026-03-04"
    api = APIClient()
    for user in (msvle.monitor, msvle.medical_monitor, msvle.statistician, msvle.investigator):
        api.force_login(user)
        response = api.get(f"/api/v1/participants/{participant.pk}/forms/pregnancy_report/")
        assert response.status_code == 200, (user, response.content)
        (row,) = response.json()
        text = str(row).lower()
        assert row["exposed_infusion_dates"] == "2026-03-04", row
        for word in ("arm", "kit", "lot", "placebo", "allocation"):
            assert f"'{word}" not in text
    api.force_login(msvle.other_coordinator)
    response = api.get(f"/api/v1/participants/{participant.pk}/forms/pregnancy_report/")
    assert response.status_code == 404
