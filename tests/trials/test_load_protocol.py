"""Loading protocol files: idempotent reloads, amendments as new versions, all-or-nothing errors."""

from __future__ import annotations

import re
from datetime import date
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from accounts.services import system_actor
from ecrf.errors import DomainError
from tests.personas import NOW, PROTOCOLS, make_team
from trials.models import Cohort, CohortStatus, Participant, ProtocolVersion, Site, Trial
from trials.protocol import parse_protocol_file
from trials.services import protocol_load
from visits.models import Visit
from visits.services import participant_register

MSVLE_FILE = PROTOCOLS / "nct03673748.yaml"
MSCROLE_FILE = PROTOCOLS / "nct03917797.yaml"


def load(*paths: Path) -> str:
    out = StringIO()
    call_command("load_protocol", *(str(p) for p in paths), stdout=out)
    return out.getvalue()


def edited(tmp_path: Path, *changes: tuple[str, str], name: str = "msvle.yaml") -> Path:
    """A copy of the MSVLE file with each `old` text (which must occur once) replaced."""
    text = MSVLE_FILE.read_text(encoding="utf-8")
    for old, new in changes:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def line_of(path: Path, fragment: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(number for number, line in enumerate(lines, start=1) if fragment in line)


def counts() -> tuple[int, int, int, int]:
    return (
        Trial.objects.count(),
        Site.objects.count(),
        Cohort.objects.count(),
        ProtocolVersion.objects.count(),
    )


NEW_LABEL = ('version: "1.6"', 'version: "1.7"')
W24_WIDER = ("day: 168\n    window_before: 7", "day: 168\n    window_before: 10")
SPONSOR_RENAMED = ("sponsor: Red de Terapia Celular", "sponsor: Red de Terapia Celular (RTC)")


def register_at(trial: Trial, actor) -> Participant:
    return participant_register(
        actor=actor,
        site=trial.sites.get(code="VA01"),
        sex="F",
        date_of_birth=date(1990, 5, 17),
        now=NOW,
    )


def test_both_shipped_files_load_and_report_what_was_loaded(db, time_machine) -> None:
    time_machine.move_to(NOW, tick=False)
    output = load(MSVLE_FILE, MSCROLE_FILE)
    assert "MSVLE: loaded version 1.6 as #1 (11 visits, 1 sites; new sites VA01)." in output
    assert "MSCROLE: loaded version 1.6 as #1 (7 visits, 1 sites; new sites SA01)." in output
    msvle = Trial.objects.get(code="MSVLE")
    mscrole = Trial.objects.get(code="MSCROLE")
    assert (msvle.nct, mscrole.nct) == ("NCT03673748", "NCT03917797")
    assert list(msvle.sites.values_list("code", "time_zone")) == [("VA01", "Europe/Madrid")]
    assert list(mscrole.sites.values_list("code", "time_zone")) == [("SA01", "America/Santiago")]
    version = ProtocolVersion.objects.get(trial=msvle)
    assert (version.number, version.label, version.source_name) == (1, "1.6", MSVLE_FILE.name)
    assert version.loaded_at == NOW
    assert version.loaded_by == system_actor()
    assert version.checksum == parse_protocol_file(MSVLE_FILE).checksum
    assert not msvle.cohorts.exists()


def test_mscrole_opens_its_first_cohort_and_plans_the_others(db) -> None:
    load(MSCROLE_FILE)
    cohorts = Cohort.objects.filter(trial__code="MSCROLE").order_by("order")
    rows = [(c.code, c.stage_code, c.status, c.dose_cells_per_kg, c.planned_n) for c in cohorts]
    assert rows == [
        ("C1", "IIA", CohortStatus.OPEN, 1.0e6, 3),
        ("C2", "IIA", CohortStatus.PLANNED, 2.0e6, 3),
        ("C3", "IIA", CohortStatus.PLANNED, 4.0e6, 3),
    ]


def test_loading_the_same_file_twice_changes_nothing(db) -> None:
    load(MSCROLE_FILE)
    before = counts()
    trial = Trial.objects.get(code="MSCROLE")
    trial_history = trial.history.count()
    output = load(MSCROLE_FILE)
    assert output.strip() == "MSCROLE: version 1.6 (#1) is already loaded; nothing changed."
    assert counts() == before
    assert trial.history.count() == trial_history
    assert Cohort.objects.get(code="C1").status == CohortStatus.OPEN


def test_reloading_does_not_reopen_or_replan_cohorts(db, tmp_path) -> None:
    load(MSCROLE_FILE)
    Cohort.objects.filter(code="C1").update(status=CohortStatus.FULL)
    text = MSCROLE_FILE.read_text(encoding="utf-8").replace('version: "1.6"', 'version: "1.7"', 1)
    amended = tmp_path / "mscrole.yaml"
    amended.write_text(text, encoding="utf-8")
    assert "loaded version 1.7 as #2" in load(amended)
    statuses = dict(Cohort.objects.values_list("code", "status"))
    planned = CohortStatus.PLANNED
    assert statuses == {"C1": CohortStatus.FULL, "C2": planned, "C3": planned}


def test_changed_file_with_the_same_label_is_refused_and_nothing_written(db, tmp_path) -> None:
    load(MSVLE_FILE)
    before = counts()
    changed = edited(tmp_path, W24_WIDER)
    with pytest.raises(CommandError) as caught:
        load(changed)
    message = str(caught.value)
    assert "version '1.6' of MSVLE is already loaded with different content" in message
    assert "new version label" in message
    assert counts() == before
    stored = ProtocolVersion.objects.get(trial__code="MSVLE").definition
    assert [v["window_before"] for v in stored["visits"] if v["code"] == "W24"] == [7]


def test_same_label_refusal_through_the_service_raises_a_domain_error(db, tmp_path) -> None:
    load(MSVLE_FILE)
    changed = edited(tmp_path, SPONSOR_RENAMED)
    with pytest.raises(DomainError, match="already loaded with different content"):
        protocol_load(
            actor=system_actor(),
            definition=parse_protocol_file(changed),
            source_name=changed.name,
            now=NOW,
        )
    assert ProtocolVersion.objects.count() == 1


def test_new_label_is_version_two_and_participants_keep_their_version(db, tmp_path) -> None:
    load(MSVLE_FILE)
    team = make_team(Trial.objects.get(code="MSVLE"))
    earlier = register_at(team.trial, team.coordinator)
    amended = edited(tmp_path, NEW_LABEL, W24_WIDER)
    output = load(amended)
    assert "MSVLE: loaded version 1.7 as #2" in output
    first, second = ProtocolVersion.objects.filter(trial=team.trial).order_by("number")
    assert (first.label, second.label, second.number) == ("1.6", "1.7", 2)
    later = register_at(team.trial, team.coordinator)
    earlier.refresh_from_db()
    assert earlier.protocol_version == first
    assert later.protocol_version == second
    assert Visit.objects.get(participant=earlier).protocol_version == first
    assert Visit.objects.get(participant=later).protocol_version == second
    # Reloading the first file again is recognised, not a third version.
    assert "1.6 (#1) is already loaded; nothing changed" in load(MSVLE_FILE)
    assert ProtocolVersion.objects.filter(trial=team.trial).count() == 2


def test_new_version_cannot_move_a_site_with_participants_to_another_zone(db, tmp_path) -> None:
    load(MSVLE_FILE)
    team = make_team(Trial.objects.get(code="MSVLE"))
    register_at(team.trial, team.coordinator)
    before = counts()
    moved = edited(tmp_path, NEW_LABEL, ("time_zone: Europe/Madrid", "time_zone: Atlantic/Canary"))
    with pytest.raises(CommandError, match="time zone cannot change from Europe/Madrid"):
        load(moved)
    assert counts() == before
    assert Site.objects.get(code="VA01").time_zone == "Europe/Madrid"
    assert not ProtocolVersion.objects.filter(label="1.7").exists()


BAD_FILES = [
    pytest.param(
        ("planned_enrollment: 20", "planned_enrollment: 20: 30"),
        "planned_enrollment: 20: 30",
        "(root)",
        "invalid YAML: mapping values are not allowed here",
        id="syntax-error",
    ),
    pytest.param(
        ("planned_enrollment: 20", "planned_enrollment: 20\ncolour: blue"),
        "colour: blue",
        "colour",
        "unknown key 'colour'",
        id="unknown-key",
    ),
    pytest.param(
        ("time_zone: Europe/Madrid", "time_zone: Europe/Valladolid"),
        "Europe/Valladolid",
        "sites[0].time_zone",
        "unknown IANA time zone 'Europe/Valladolid'",
        id="unknown-time-zone",
    ),
    pytest.param(
        ("forms: [labs, conmed, adverse_events]", "forms: [labs, conmed, adverse_events, xray]"),
        "xray",
        "visits[3].forms[3]",
        "unknown form code 'xray'",
        id="unknown-form",
    ),
    pytest.param(
        ("{form: sledai2k, field: total,", "{form: sledai2k, field: score,"),
        "field: score",
        "eligibility.inclusion[4].sources[0].field",
        "form 'sledai2k' has no field 'score' to check against",
        id="unknown-source-field",
    ),
    pytest.param(
        ("{form: sledai2k, field: total,", "{form: xray, field: total,"),
        "form: xray",
        "eligibility.inclusion[4].sources[0].form",
        "unknown form code 'xray'",
        id="unknown-source-form",
    ),
    pytest.param(
        (
            "parameter: sledai_min_at_selection, unit: points}",
            "parameter: sledai_min, unit: points}",
        ),
        "parameter: sledai_min,",
        "eligibility.inclusion[4].sources[0].parameter",
        "unknown parameter 'sledai_min'",
        id="unknown-source-parameter",
    ),
    pytest.param(
        ("short_title: MSV_LE", "short_title: MSV_LE\ntitle: Again"),
        "title: Again",
        "title",
        "duplicate key 'title' (first given on line 14)",
        id="duplicate-key",
    ),
]


@pytest.mark.parametrize(("change", "marker", "path", "fragment"), BAD_FILES)
def test_bad_file_names_key_and_line_and_loads_nothing(
    db, tmp_path, change, marker, path, fragment
) -> None:
    bad = edited(tmp_path, change)
    with pytest.raises(CommandError) as caught:
        load(bad)
    message = str(caught.value)
    assert f"{bad}:{line_of(bad, marker)}: at '{path}': {fragment}" in message
    assert counts() == (0, 0, 0, 0)


@pytest.mark.parametrize(("change", "marker", "path", "fragment"), BAD_FILES)
def test_bad_amendment_leaves_the_loaded_version_alone(
    db, tmp_path, change, marker, path, fragment
) -> None:
    load(MSVLE_FILE)
    before = counts()
    bad = edited(tmp_path, NEW_LABEL, change)
    with pytest.raises(CommandError, match=re.escape(f"at '{path}': {fragment}")):
        load(bad)
    assert counts() == before
    assert ProtocolVersion.objects.get().label == "1.6"


def test_several_files_load_all_or_nothing(db, tmp_path) -> None:
    bad = edited(tmp_path, ("time_zone: Europe/Madrid", "time_zone: Europe/Valladolid"))
    with pytest.raises(CommandError, match="unknown IANA time zone"):
        load(MSCROLE_FILE, bad)
    assert counts() == (0, 0, 0, 0)


def test_several_files_roll_back_when_a_later_one_is_refused_by_the_database(db, tmp_path) -> None:
    load(MSVLE_FILE)
    before = counts()
    same_label = edited(tmp_path, SPONSOR_RENAMED)
    with pytest.raises(CommandError, match="already loaded with different content"):
        load(MSCROLE_FILE, same_label)
    assert counts() == before
    assert not Trial.objects.filter(code="MSCROLE").exists()


def test_missing_file_is_a_command_error(db, tmp_path) -> None:
    with pytest.raises(CommandError, match="no such file"):
        load(tmp_path / "absent.yaml")
    assert counts() == (0, 0, 0, 0)
