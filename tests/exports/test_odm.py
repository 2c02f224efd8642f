"""The ODM 1.3.2 export: schema-valid Transactional files with an audit record per change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import time_machine

from assessments.models import ConcomitantMedication, SledaiAssessment, VitalSigns
from assessments.services import form_save
from casebook.catalogue import form_type, form_types
from exports.base import ExportContext
from exports.formats import total_units, write_export
from exports.odm import clinicaldata, odm_total, write_odm
from safety.models import AdverseEvent
from tests.exports.odm_fixtures import (
    AE_TERM,
    AFTER_ALL,
    BEFORE_EDITS,
    INDICATION_REASON,
    NS,
    RASH_REASON,
    audit,
    dangling_references,
    item_data,
    parse,
    schema,
)
from tests.personas import NOW, load, make_team
from tests.world import make_eligible
from trials.definitions import current_version
from trials.services import participant_enrol

STATUS = ("entry_status", "not_done_reason")


def written(ctx: ExportContext, folder) -> tuple[Any, list[int], Any]:
    reports: list[int] = []
    files = write_odm(ctx, folder, reports.append)
    assert len(files) == 1
    return files[0], reports, parse(files[0].path)


def test_every_file_validates_against_the_odm_schema_and_its_references_resolve(
    story, tmp_path
) -> None:
    xsd = schema()
    for blinded in (True, False):
        for as_of in (BEFORE_EDITS, AFTER_ALL):
            folder = tmp_path / f"{blinded}-{as_of:%d}"
            ctx = story.context(as_of, blinded=blinded)
            files = write_export(ctx, "odm", folder, lambda units: None)
            root = parse(files[0].path)
            assert xsd.validate(root.getroottree()), xsd.error_log
            assert dangling_references(root) == []
            assert root.get("FileType") == "Transactional"
            assert root.get("ODMVersion") == "1.3.2"
            assert root.get("AsOfDateTime") == as_of.isoformat()
            # Study, AdminData, ClinicalData: the order the schema requires.
            assert [child.tag.split("}")[1] for child in root] == [
                "Study",
                "AdminData",
                "ClinicalData",
            ]
    # The schema does bite: the same file with AdminData before Study is refused.
    root.insert(0, root[1])
    assert not xsd.validate(root.getroottree())


def test_a_correction_is_an_update_of_the_changed_field_only_with_its_reason(
    story, tmp_path
) -> None:
    _, _, root = written(story.context(AFTER_ALL), tmp_path)
    investigator = f"U.{story.team.investigator.pk}"
    rash = item_data(root, "IT.SLEDAI2K.RASH")
    assert [(el.get("TransactionType"), el.get("Value")) for el in rash] == [
        ("Insert", "Y"),
        ("Update", "N"),
    ]
    # Madrid is one hour ahead of UTC in March; the site's offset is kept.
    assert audit(rash[0]) == {
        "user": investigator,
        "location": "L.VA01",
        "when": "2026-03-02T13:00:00+01:00",
        "reason": "Initial entry",
    }
    assert audit(rash[1]) == {
        "user": investigator,
        "location": "L.VA01",
        "when": "2026-03-10T10:00:00+01:00",
        "reason": RASH_REASON,
    }
    # The fields the correction did not touch appear once; the score it changed is updated.
    assert [el.get("TransactionType") for el in item_data(root, "IT.SLEDAI2K.PROT")] == ["Insert"]
    total = item_data(root, "IT.SLEDAI2K.TOTAL")
    assert [(el.get("TransactionType"), el.get("Value")) for el in total] == [
        ("Insert", "6"),
        ("Update", "4"),
    ]
    sledai = SledaiAssessment.objects.get(visit__code="SEL")
    changed = {
        el.get("ItemOID")
        for el in root.iterfind(".//odm:ItemData[@TransactionType='Update']", NS)
        if audit(el)["reason"] == RASH_REASON
    }
    assert changed == {"IT.SLEDAI2K.RASH", "IT.SLEDAI2K.TOTAL", "IT.SLEDAI2K.CLINICAL_TOTAL"}
    assert sledai.total == 4


def test_a_cleared_value_is_removed_and_a_form_not_done_says_so(story, tmp_path) -> None:
    _, _, root = written(story.context(AFTER_ALL), tmp_path)
    indication = item_data(root, "IT.CONMED.INDICATION")
    assert [(el.get("TransactionType"), el.get("Value")) for el in indication] == [
        ("Insert", "Lupus nephritis"),
        ("Remove", None),
    ]
    assert indication[1].get("IsNull") == "Yes"
    assert audit(indication[1])["reason"] == INDICATION_REASON
    labs = root.find(
        ".//odm:StudyEventData[@StudyEventOID='SE.W1']/odm:FormData[@FormOID='F.LABS']", NS
    )
    assert [
        (el.get("ItemOID"), el.get("TransactionType"), el.get("Value"))
        for el in labs.iterfind(".//odm:ItemData", NS)
    ] == [
        ("IT.LABS.ENTRY_STATUS", "Insert", "not_done"),
        ("IT.LABS.NOT_DONE_REASON", "Insert", "Sample haemolysed"),
    ]
    sledai = root.find(
        ".//odm:StudyEventData[@StudyEventOID='SE.W4']/odm:FormData[@FormOID='F.SLEDAI2K']", NS
    )
    assert SledaiAssessment.objects.get(visit__code="W4").rash is False
    assert [
        (el.get("ItemOID"), el.get("Value")) for el in sledai.iterfind(".//odm:ItemData", NS)
    ] == [
        ("IT.SLEDAI2K.ENTRY_STATUS", "not_done"),
        ("IT.SLEDAI2K.NOT_DONE_REASON", "Investigator absent"),
    ]


def test_subjects_events_and_repeating_forms_are_keyed(story, tmp_path) -> None:
    _, _, root = written(story.context(AFTER_ALL), tmp_path)
    subjects = root.findall(".//odm:SubjectData", NS)
    assert [s.get("SubjectKey") for s in subjects] == [
        story.subject.subject_id,
        story.other.screening_number,
    ]
    unscheduled = subjects[0].find("odm:StudyEventData[@StudyEventOID='SE.UNSCHEDULED']", NS)
    assert unscheduled.get("StudyEventRepeatKey") == "D0.U01"
    vitals = VitalSigns.objects.get(visit__code="D0.U01")
    assert [form.attrib for form in unscheduled.iterfind("odm:FormData", NS)] == [
        {"FormOID": "F.VISIT"},
        {"FormOID": "F.VITALS", "FormRepeatKey": str(vitals.pk)},
    ]
    d0_vitals = subjects[0].findall(
        "odm:StudyEventData[@StudyEventOID='SE.D0']/odm:FormData[@FormOID='F.VITALS']", NS
    )
    assert sorted(form.get("FormRepeatKey") for form in d0_vitals) == sorted(
        str(pk) for pk in VitalSigns.objects.filter(visit__code="D0").values_list("pk", flat=True)
    )
    # Logs live in the participant's common event, one FormData per record.
    ae = subjects[0].find(
        "odm:StudyEventData[@StudyEventOID='SE.SUBJECT']/odm:FormData[@FormOID='F.ADVERSE_EVENTS']",
        NS,
    )
    assert ae.get("FormRepeatKey") == str(AdverseEvent.objects.get().pk)
    # The other participant's site is in Chile: its own location and offset.
    other = item_data(subjects[1], "IT.VITALS.HEART_RATE")
    assert [el.get("Value") for el in other] == ["64"]
    assert audit(other[0])["location"] == "L.ZZ01"
    assert audit(other[0])["when"] == "2026-03-02T09:00:00-03:00"
    assert subjects[1].find("odm:SiteRef", NS).get("LocationOID") == "L.ZZ01"


def test_text_is_escaped_and_characters_xml_cannot_hold_are_replaced(story, tmp_path) -> None:
    file, _, root = written(story.context(AFTER_ALL), tmp_path)
    term = item_data(root, "IT.ADVERSE_EVENTS.VERBATIM_TERM")
    assert AdverseEvent.objects.get().verbatim_term == AE_TERM
    assert [el.get("Value") for el in term] == [AE_TERM.replace("\x0b", "\ufffd")]
    raw = file.path.read_bytes()
    # Markup characters are escaped (the value is quoted with ' as it holds ").
    assert b'Value=\'Headache &lt;"severe"&gt; &amp; nausea' in raw
    assert b"\x0b" not in raw


def test_as_of_before_the_corrections_leaves_them_out(story, tmp_path) -> None:
    _, _, root = written(story.context(BEFORE_EDITS), tmp_path)
    assert [el.get("TransactionType") for el in item_data(root, "IT.SLEDAI2K.RASH")] == ["Insert"]
    assert [el.get("Value") for el in item_data(root, "IT.CONMED.INDICATION")] == [
        "Lupus nephritis"
    ]
    assert root.findall(".//odm:ItemData[@TransactionType='Remove']", NS) == []
    assert root.find(".//odm:StudyEventData[@StudyEventOID='SE.UNSCHEDULED']", NS) is None
    assert item_data(root, "IT.LABS.ENTRY_STATUS") == []
    stamps = [el.text for el in root.iterfind(".//odm:DateTimeStamp", NS)]
    assert max(datetime.fromisoformat(stamp) for stamp in stamps) <= BEFORE_EDITS
    # The snapshot is rebuilt from history, not from the rows as they are now.
    sledai = SledaiAssessment.objects.get(visit__code="SEL")
    assert sledai.rash is False
    assert [el.get("Value") for el in item_data(root, "IT.SLEDAI2K.TOTAL")] == ["6"]


def test_the_same_as_of_gives_the_same_bytes_whenever_it_is_written(story, tmp_path) -> None:
    ctx = story.context(AFTER_ALL)
    first, _, _ = written(ctx, tmp_path / "first")
    later = AFTER_ALL + timedelta(days=3)
    with time_machine.travel(later, tick=False):
        sledai = SledaiAssessment.objects.get(visit__code="SEL")
        form_save(
            actor=story.team.investigator,
            ftype=form_type("sledai2k"),
            participant=story.subject,
            visit=sledai.visit,
            data={"prot": False},
            expected_version=sledai.row_version,
            reason="Proteinuria result belonged to another patient",
            now=later,
        )
        second, _, _ = written(ctx, tmp_path / "second")
    assert first.path.read_bytes() == second.path.read_bytes()
    third, _, root = written(story.context(later + timedelta(hours=1)), tmp_path / "third")
    assert third.path.read_bytes() != first.path.read_bytes()
    assert [el.get("Value") for el in item_data(root, "IT.SLEDAI2K.PROT")] == ["Y", "N"]
    header = parse(first.path)
    assert header.get("CreationDateTime") == "2026-03-20T00:00:00+00:00"
    assert header.get("FileOID") == "ODM.MSVLE.MDV.1.BLINDED.20260320T000000000000Z"


def _history_changes(model, names: list[str], as_of: datetime) -> int:
    """Changed fields per history record, counted straight from the history table; the
    fields of a form recorded as not done count as empty."""

    def value(record, name: str):
        if record is None:
            return None
        if getattr(record, "entry_status", "") == "not_done" and name not in STATUS:
            return None
        found = getattr(record, name)
        return None if found in ("", [], {}) else found

    count = 0
    for instance in model.objects.all():
        previous = None
        for record in instance.history.filter(history_date__lte=as_of).order_by(
            "history_date", "history_id"
        ):
            count += sum(value(previous, name) != value(record, name) for name in names)
            previous = record
    return count


def test_item_data_count_is_the_total_the_progress_and_the_history(
    story, tmp_path, monkeypatch
) -> None:
    monkeypatch.setattr(clinicaldata, "PROGRESS_EVERY", 7)
    for blinded in (True, False):
        ctx = story.context(AFTER_ALL, blinded=blinded)
        file, reports, root = written(ctx, tmp_path / str(blinded))
        count = len(root.findall(".//odm:ItemData", NS))
        assert count == file.rows == odm_total(ctx) == total_units(ctx, "odm") == sum(reports)
        assert len(reports) > count // 7
    # Unblinded, every field of every clinical form is exported: its ItemData are the
    # changed fields of its history records.
    for ftype in form_types().values():
        names = [*ftype.fields, *ftype.derived]
        if ftype.scope == "visit":
            names += ["entry_status", "not_done_reason"]
        expected = _history_changes(ftype.model, names, AFTER_ALL)
        exported = root.findall(
            f".//odm:FormData[@FormOID='F.{ftype.code.upper()}']//odm:ItemData", NS
        )
        assert len(exported) == expected, ftype.code
    assert ConcomitantMedication.history.count() == 2
    assert len(root.findall(".//odm:FormData[@FormOID='F.CONMED']//odm:ItemData", NS)) > 2


def test_an_export_before_any_data_is_valid_and_empty(story, tmp_path) -> None:
    as_of = datetime(2026, 1, 1, tzinfo=UTC)
    ctx = story.context(as_of)
    file, reports, root = written(ctx, tmp_path)
    assert schema().validate(root.getroottree())
    assert (file.rows, odm_total(ctx), sum(reports)) == (0, 0, 0)
    assert root.findall(".//odm:SubjectData", NS) == []


def test_an_open_label_cohort_is_exported_blinded_or_not(db, tmp_path) -> None:
    with time_machine.travel(NOW, tick=False):
        team = make_team(load("nct03917797.yaml"))
        participant = participant_enrol(
            actor=team.coordinator, participant=make_eligible(team), now=NOW
        )
    for blinded in (True, False):
        ctx = ExportContext(
            trial=team.trial,
            protocol_version=current_version(team.trial.pk),
            as_of=NOW + timedelta(hours=1),
            blinded=blinded,
        )
        _, _, root = written(ctx, tmp_path / str(blinded))
        assert schema().validate(root.getroottree())
        assert dangling_references(root) == []
        cohort = item_data(root, "IT.SUBJECT.COHORT")
        assert [el.get("Value") for el in cohort] == [participant.cohort.code]
        assert item_data(root, "IT.SUBJECT.ARM") == []
