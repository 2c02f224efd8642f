"""Charts: a participant's measures by study day against the protocol's thresholds, a trial's
enrolment and visit completeness; scoped to the user's sites, with no arm for anyone."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest

from assessments.services import form_save
from casebook.catalogue import form_type
from tests.personas import NOW
from tests.world import ENTERED, enter_sledai, make_eligible, on_study
from trials.services import participant_enrol
from visits.services import participant_set_day0

ARM_NAMES = ("Mesenchymal stem cells (MSC)", "MSC treatment", "Placebo")


@pytest.fixture(autouse=True)
def clock(time_machine):
    time_machine.move_to(ENTERED, tick=False)


def save(team, participant, code, visit, data):
    return form_save(
        actor=team.coordinator,
        ftype=form_type(code),
        participant=participant,
        visit=participant.visits.get(code=visit),
        data=data,
        now=ENTERED,
    )


def enter_renal_and_labs(team, participant, visit: str, on: date) -> None:
    save(team, participant, "renal", visit, {
        "assessment_date": on, "specimen_type": "24h_urine",
        "upcr_value": Decimal("1.25"), "upcr_unit": "g/g",
        "serum_creatinine_value": Decimal("0.8"), "creatinine_unit": "mg/dL",
        "urine_rbc_hpf": Decimal("3"), "urine_wbc_hpf": Decimal("2"),
        "rbc_casts": False, "cellular_casts": False,
    })  # fmt: skip
    save(team, participant, "labs", visit, {
        "sample_date": on,
        "c3_value": Decimal("0.6"), "c3_unit": "g/L",
        "c4_value": Decimal("8"), "c4_unit": "mg/dL",
        "anti_dsdna_value": Decimal("250"), "anti_dsdna_unit": "IU/mL",
    })  # fmt: skip


def rows(page: str, measure: str) -> list[list[str]]:
    figure = re.search(
        rf'<figure class="chart card" id="chart-{measure}">(.*?)</figure>', page, re.S
    )
    assert figure is not None, measure
    body = re.search(r"<tbody>(.*?)</tbody>", figure.group(1), re.S).group(1)
    return [re.findall(r"<td>(.*?)</td>", row) for row in re.findall(r"<tr>(.*?)</tr>", body)]


def test_participant_charts_show_the_values_entered_by_study_day(
    client, msvle, django_assert_max_num_queries
) -> None:
    participant = on_study(msvle)  # Day 0 on 2026-03-04
    enter_sledai(msvle, participant, "W4")  # worked example 1, on 2026-04-01: total 16
    enter_renal_and_labs(msvle, participant, "W4", date(2026, 4, 1))
    client.force_login(msvle.coordinator)
    url = f"/casebook/{participant.pk}/charts/"
    # Session, user, site zone, scope, participant with consents, the user's roles, one
    # query per form read (infusion, SLEDAI-2K, renal, labs), the workspace menu, the
    # session save: the same whatever the number of values.
    with django_assert_max_num_queries(16):
        page = client.get(url).content.decode()

    assert rows(page, "sledai") == [["28", "2026-04-01", "Week 4", "16"]]
    assert rows(page, "upcr") == [["28", "2026-04-01", "Week 4", "1.25"]]
    assert rows(page, "complement") == [["28", "2026-04-01", "Week 4", "0.60", "0.08"]]
    assert rows(page, "dsdna") == [["28", "2026-04-01", "Week 4", "250"]]
    assert rows(page, "egfr")[0][:3] == ["28", "2026-04-01", "Week 4"]
    assert "Complete renal response: UPCR below 0.5 g/g" in page
    assert "Kidney function kept: eGFR 90 or more" in page

    upcr = client.get(url + "upcr.svg")
    assert upcr.status_code == 200
    assert upcr["Content-Type"].startswith("image/svg+xml")
    svg = upcr.content.decode()
    for label in (
        "UPCR (solid line, round dots)",
        "Complete renal response: UPCR below 0.5 g/g (dotted line)",
        "Partial renal response: UPCR below 3 g/g (dotted line)",
        "Day 0: first infusion (vertical dash-dot line)",
    ):
        assert label in svg, label
    # The SVG alone may carry its own styles; the page around it keeps the strict policy.
    assert "'unsafe-inline'" in upcr["Content-Security-Policy"].split("style-src")[1].split(";")[0]
    assert "'unsafe-inline'" not in client.get(url)["Content-Security-Policy"]
    assert client.get(url + "unknown.svg").status_code == 404


def test_charts_are_scoped_to_the_site_and_show_no_arm(client, msvle) -> None:
    participant = on_study(msvle)
    enter_sledai(msvle, participant, "W4")
    url = f"/casebook/{participant.pk}/charts/"
    client.force_login(msvle.other_coordinator)
    assert client.get(url).status_code == 404
    assert client.get(url + "sledai.svg").status_code == 404

    for user in (msvle.coordinator, msvle.monitor, msvle.statistician):
        client.force_login(user)
        answers = [client.get(url)] + [
            client.get(url + f"{m}.svg") for m in ("sledai", "upcr", "egfr", "complement", "dsdna")
        ]
        for answer in answers:
            assert answer.status_code == 200, user
            assert not any(name in answer.content.decode() for name in ARM_NAMES), user
    # The pharmacist knows the arm and so reads no efficacy form: no chart at all.
    client.force_login(msvle.pharmacist)
    page = client.get(url).content.decode()
    assert "Your role does not read the efficacy forms" in page
    assert client.get(url + "sledai.svg").status_code == 404


def test_msc_role_charts_mark_both_infusions_and_its_own_thresholds(client, mscrole) -> None:
    participant = participant_enrol(
        actor=mscrole.coordinator, participant=make_eligible(mscrole), now=NOW
    )
    participant = participant_set_day0(
        actor=mscrole.coordinator, participant=participant, day0=date(2026, 3, 4), now=NOW
    )
    enter_renal_and_labs(mscrole, participant, "M1", date(2026, 4, 3))
    client.force_login(mscrole.investigator)
    url = f"/casebook/{participant.pk}/charts/"
    page = client.get(url).content.decode()
    assert rows(page, "upcr") == [["30", "2026-04-03", "Month 1", "1.25"]]
    assert "Complete response: UPCR below 0.5 g/g" in page
    assert "Complete response: eGFR 120 or more" in page
    svg = client.get(url + "egfr.svg").content.decode()
    assert "Complete response: eGFR 120 or more (dotted line)" in svg
    assert "Day 0: first infusion" in svg
    assert not any(name in page + svg for name in ARM_NAMES)


def test_trial_charts_count_allocations_and_due_visits_per_visible_site(client, msvle) -> None:
    first = on_study(msvle)
    on_study(msvle)
    first.visits.filter(code="SEL").update(status="completed")
    first.visits.filter(code="W1").update(status="missed")
    client.force_login(msvle.coordinator)
    assert 'href="/casebook/trial-charts/"' in client.get("/trials/participants/").content.decode()
    page = client.get("/casebook/trial-charts/").content.decode()
    assert "2 of 20 planned participants randomized or enrolled." in page
    assert "<td>2026-03-02</td><td>2</td><td>20</td>" in page
    site = re.search(rf'<tr id="site-{msvle.site.code}">(.*?)</tr>', page, re.S).group(1)
    # Per participant RAND completed at randomization; the first also SEL completed, W1 missed.
    assert re.findall(r"<td>(.*?)</td>", site)[1:] == ["4", "3", "75"]
    enrolment = client.get("/casebook/trial-charts/enrolment.svg")
    assert enrolment.status_code == 200
    assert "Target: 20 participants (dotted line)" in enrolment.content.decode()
    assert client.get("/casebook/trial-charts/visits.svg").status_code == 200

    # The other site's coordinator counts only the other site: nothing yet.
    client.force_login(msvle.other_coordinator)
    page = client.get("/casebook/trial-charts/").content.decode()
    assert "0 of 20 planned participants randomized or enrolled." in page
    assert f'id="site-{msvle.site.code}"' not in page
