"""The casebook pages: grid, data entry with inline errors and warnings, derived values, history."""

from __future__ import annotations

import ast
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from assessments.models import SledaiAssessment, VitalSigns
from assessments.scoring.sledai_descriptors import DESCRIPTORS
from trials.definitions import definition_of

pytestmark = pytest.mark.usefixtures("after_week24")

# SLEDAI-2K descriptors (and the index's name) spelt the same in Spanish.
SAME_IN_SPANISH = {"Vasculitis", "Proteinuria", "Alopecia", "Pericarditis", "SLEDAI-2K"}


def message_templates() -> set[str]:
    """Every text the application marks with gettext_noop: the templates of stored messages
    and the labels worded when read."""
    found = set()
    apps = [
        top
        for top in Path(settings.BASE_DIR).iterdir()
        if (top / "__init__.py").exists() and top.name not in {"tests", "bench"}
    ]
    paths = [path for top in apps for path in top.rglob("*.py") if "migrations" not in path.parts]
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", None) == "gettext_noop"
                and isinstance(node.args[0], ast.Constant)
            ):
                found.add(node.args[0].value)
    assert len(found) > 50
    return found


def entry_url(participant, visit_code):
    visit = participant.visits.get(code=visit_code)
    return f"/casebook/{participant.pk}/sledai2k/new/?visit={visit.pk}", visit


def test_grid_lists_visits_and_form_states(client, msvle, participant, after_week24) -> None:
    client.force_login(msvle.coordinator)
    page = client.get(f"/casebook/{participant.pk}/").content.decode()
    assert "W24" in page
    assert '<tr data-form="sledai2k">' in page
    # Week 24 has passed and week 52 is still to come on 2026-09-01.
    w24, fu52 = (participant.visits.get(code=code).pk for code in ("W24", "FU52"))
    assert "SLEDAI-2K: Not started" in page
    assert f"/sledai2k/new/?visit={w24}" in page
    assert "SLEDAI-2K: Not yet due" in page
    assert f"/sledai2k/new/?visit={fu52}" not in page


def test_enter_sledai_and_see_the_score_with_its_rule(client, msvle, participant) -> None:
    client.force_login(msvle.investigator)
    url, visit = entry_url(participant, "W4")
    response = client.post(
        url,
        {
            "visit": visit.pk,
            "assessment_date": "2026-04-01",
            "window_days": "10",
            "prot": "on",
            "hemat": "on",
            "hemat_sle": "true",
            "casts": "on",
            "lowcomp": "on",
            "dna": "on",
        },
    )
    assert response.status_code == 302
    form = SledaiAssessment.objects.get()
    page = client.get(response["Location"]).content.decode()
    assert form.total == 16
    rule = f"{form.calculator} {form.calculator_version}, 10-day window: "
    assert rule + "CASTS 4 + HEMAT 4 + PROT 4 + LOWCOMP 2 + DNA 2 = 16" in page
    assert "Derived by the system" in page


def test_errors_shown_in_place_and_typed_values_kept(client, msvle, participant) -> None:
    client.force_login(msvle.investigator)
    url, visit = entry_url(participant, "W4")
    response = client.post(
        url, {"visit": visit.pk, "assessment_date": "2026-04-01", "window_days": "10", "seiz": "on"}
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert 'name="seiz" id="id_seiz" checked' in page
    assert not SledaiAssessment.objects.exists()
    # The summary at the top of the form links to each field with an error.
    summary = re.search(r'<div class="error error-summary".*?</div>', page, re.S)
    assert summary is not None
    assert (
        '<li><a href="#id_seiz_sle">Seizure: attributable to SLE: '
        "Say whether seizure is attributable to SLE.</a></li>"
    ) in summary.group(0)
    for target in re.findall(r'href="#([^"]+)"', summary.group(0)):
        assert f'id="{target}"' in page


def test_required_fields_marked_and_no_error_summary_before_a_save(
    client, msvle, participant
) -> None:
    client.force_login(msvle.investigator)
    url, visit = entry_url(participant, "W4")
    page = client.get(url).content.decode()
    assert "error-summary" not in page
    marked = re.findall(r'<label for="(id_\w+)">[^<]*<span class="required-mark"', page)
    assert sorted(marked) == ["id_assessment_date", "id_window_days"]
    assert '<span class="visually-hidden"> (required)</span>' in page
    # The browser keeps a draft of the page under the user, participant, form and visit, and
    # the page after a save says so, for the browser to forget it.
    key = f"ecrf-draft:{msvle.investigator.pk}:{participant.pk}:sledai2k:visit-{visit.pk}"
    assert f'data-draft-key="{key}"' in page
    saved = client.post(
        url, {"visit": visit.pk, "assessment_date": "2026-04-01", "window_days": "10"}, follow=True
    )
    assert '<li class="form-saved success"' in saved.content.decode()


def test_change_needs_a_reason_and_history_page_shows_it(client, msvle, participant) -> None:
    client.force_login(msvle.investigator)
    url, visit = entry_url(participant, "W4")
    client.post(
        url, {"visit": visit.pk, "assessment_date": "2026-04-01", "window_days": "10", "dna": "on"}
    )
    form = SledaiAssessment.objects.get()
    edit = f"/casebook/{participant.pk}/sledai2k/{form.pk}/"
    refused = client.post(
        edit, {"assessment_date": "2026-04-01", "window_days": "10", "row_version": "1"}
    )
    assert refused.status_code == 400
    assert "A reason for the change is required." in refused.content.decode()
    accepted = client.post(
        edit,
        {
            "assessment_date": "2026-04-01",
            "window_days": "10",
            "row_version": "1",
            "reason": "Anti-dsDNA within range",
        },
    )
    assert accepted.status_code == 302
    history = client.get(f"{edit}history/").content.decode()
    assert "Anti-dsDNA within range" in history
    assert "Increased DNA binding" in history


def test_stale_version_from_the_page_is_refused(client, msvle, participant) -> None:
    client.force_login(msvle.investigator)
    url, visit = entry_url(participant, "W4")
    client.post(url, {"visit": visit.pk, "assessment_date": "2026-04-01", "window_days": "10"})
    form = SledaiAssessment.objects.get()
    edit = f"/casebook/{participant.pk}/sledai2k/{form.pk}/"
    client.post(
        edit,
        {
            "assessment_date": "2026-04-01",
            "window_days": "10",
            "rash": "on",
            "row_version": "1",
            "reason": "Rash seen",
        },
    )
    stale = client.post(
        edit,
        {
            "assessment_date": "2026-04-01",
            "window_days": "10",
            "alop": "on",
            "row_version": "1",
            "reason": "Alopecia",
        },
    )
    assert stale.status_code == 409
    assert "Reload it" in stale.content.decode()
    form.refresh_from_db()
    assert (form.rash, form.alop, form.row_version) == (True, False, 2)


def test_monitor_reads_without_a_form(client, msvle, participant) -> None:
    client.force_login(msvle.investigator)
    url, visit = entry_url(participant, "W4")
    client.post(
        url, {"visit": visit.pk, "assessment_date": "2026-04-01", "window_days": "10", "rash": "on"}
    )
    form = SledaiAssessment.objects.get()
    client.force_login(msvle.monitor)
    page = client.get(f"/casebook/{participant.pk}/sledai2k/{form.pk}/").content.decode()
    assert "Your role reads this form but does not enter it." in page
    assert "RASH 2" in page


def test_other_site_and_pharmacist_get_404(client, msvle, participant) -> None:
    url, _ = entry_url(participant, "W4")
    client.force_login(msvle.other_coordinator)
    assert client.get(f"/casebook/{participant.pk}/").status_code == 404
    assert client.get(url).status_code == 404
    client.force_login(msvle.pharmacist)
    assert client.get(url).status_code == 404
    assert "sledai2k" not in client.get(f"/casebook/{participant.pk}/").content.decode()


def test_casebook_pages_speak_spanish_to_a_spanish_user(client, msvle, participant) -> None:
    msvle.investigator.language = "es"
    msvle.investigator.save(update_fields=["language"])
    client.force_login(msvle.investigator)
    grid = client.get(f"/casebook/{participant.pk}/").content.decode()
    assert f"CRD de {participant.identifier}" in grid
    url, visit = entry_url(participant, "W4")
    client.post(url, {"visit": visit.pk, "assessment_date": "2026-04-01", "window_days": "10"})
    form = SledaiAssessment.objects.get()
    page = client.get(f"/casebook/{participant.pk}/sledai2k/{form.pk}/").content.decode()
    assert "Calculado por el sistema" in page
    assert "Derived by the system" not in page
    # No English clinical text is left on the entry page, the casebook or the participant page
    # with its eligibility checklist: form names, descriptors, visits, criteria.
    definition = definition_of(participant.protocol_version)
    criteria = (*definition.eligibility.inclusion, *definition.eligibility.exclusion)
    english = {
        "entry": [d.label for d in DESCRIPTORS if d.label not in SAME_IN_SPANISH]
        + ["Neurological", "attributable to SLE", "days before the visit", "-day window"],
        "grid": ["Vital signs", "Renal assessment", "Week 4", "Week 24 (primary endpoint)"],
        "participant": [criterion.text for criterion in criteria]
        + [visit.name for visit in definition.visits],
    }
    pages = {
        "entry": page,
        "grid": client.get(f"/casebook/{participant.pk}/").content.decode(),
        "participant": client.get(reverse("trials:participant", args=[participant.pk]))
        .content.decode()
        .replace("&#x27;", "'"),
    }
    left = {kind: [text for text in english[kind] if text in pages[kind]] for kind in english}
    assert left == {"entry": [], "grid": [], "participant": []}
    assert "Convulsiones" in pages["entry"] and "ventana de 10 días" in pages["entry"]
    assert "Incapacidad legal." in pages["participant"] and "Semana 4" in pages["grid"]
    # Decimals are typed with the comma in Spanish; the point is still understood.
    vitals = f"/casebook/{participant.pk}/vitals/new/?visit={visit.pk}"
    fields = {"visit": visit.pk, "timepoint": "visit", "measured_at": "2026-04-01T09:00"}
    fields["weight_kg"] = "70.5"
    assert client.post(vitals, {**fields, "temperature_c": "36,6"}).status_code == 302
    entered = VitalSigns.objects.get()
    assert (entered.temperature_c, entered.weight_kg) == (Decimal("36.6"), Decimal("70.5"))
    shown = client.get(f"/casebook/{participant.pk}/vitals/{entered.pk}/").content.decode()
    assert 'value="36,6"' in shown
    # The API reads the point only, whatever the language.
    w8 = participant.visits.get(code="W8").pk
    data = {"timepoint": "visit", "measured_at": "2026-04-29T09:00", "temperature_c": "36,6"}
    body = {"visit": w8, "data": data}
    refused = client.post(
        f"/api/v1/participants/{participant.pk}/forms/vitals/",
        body,
        content_type="application/json",
    )
    assert refused.status_code == 400 and "temperature_c" in refused.content.decode()
    # Texts kept in English and worded when read (edit-check warnings, automatic queries,
    # alerts): every template the code marks for translation has Spanish.
    with translation.override("es"):
        untranslated = [
            t for t in message_templates() if gettext(t) == t and t not in SAME_IN_SPANISH
        ]
    assert untranslated == []


def test_log_and_entry_page_queries_do_not_grow_with_the_records(
    client, msvle, participant
) -> None:
    from datetime import date

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.world import enter_sledai

    client.force_login(msvle.coordinator)
    log = f"/casebook/{participant.pk}/sledai2k/"

    def queries() -> list[int]:
        counts = []
        record = SledaiAssessment.objects.order_by("pk").first()
        for url in (log, f"{log}{record.pk}/"):
            with CaptureQueriesContext(connection) as run:
                assert client.get(url).status_code == 200
            counts.append(len(run.captured_queries))
        return counts

    for code in ("W4", "W8"):
        enter_sledai(msvle, participant, code, data={"assessment_date": date(2026, 8, 1)})
    few = queries()
    for code in ("W12", "W16", "W20", "W24"):
        enter_sledai(msvle, participant, code, data={"assessment_date": date(2026, 8, 1)})
    assert queries() == few
    assert SledaiAssessment.objects.count() == 6
