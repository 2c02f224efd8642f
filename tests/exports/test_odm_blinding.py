"""Blinding of the ODM export: no allocation-revealing item, value or code list unless unblinded."""

from __future__ import annotations

from datetime import UTC, datetime

import time_machine

from accounts.services import system_actor
from assessments.selectors import revealing_fields
from casebook.catalogue import form_types
from exports.base import ExportContext
from exports.odm import write_odm
from tests.exports.odm_fixtures import (
    AFTER_ALL,
    KIT,
    LOT,
    NS,
    PROTOCOLS_DIR,
    audit,
    item_data,
    parse,
    schema,
)
from trials.definitions import current_version
from trials.models import AllocationSlot, ProtocolVersion
from trials.protocol import parse_protocol_text
from trials.services import protocol_load


def export(ctx: ExportContext, folder):
    files = write_odm(ctx, folder, lambda units: None)
    return files[0].path.read_bytes(), parse(files[0].path)


def oids(root, tag: str, attr: str = "OID") -> set[str]:
    return {el.get(attr) for el in root.iterfind(f".//odm:{tag}", NS)}


def revealing_item_oids(story) -> set[str]:
    """The allocation-revealing fields as the casebook's own selectors name them (the protocol
    also lists the arm under the infusion; the arm is the participant's, not a form field)."""
    return {
        f"IT.{ftype.code.upper()}.{name.upper()}"
        for ftype in form_types().values()
        for name in revealing_fields(ftype, story.subject)
        if name != "arm"
    } | {"IT.SUBJECT.ARM"}


def test_blinded_export_holds_no_revealing_item_value_or_code_list(story, tmp_path) -> None:
    # Blinded unless said otherwise.
    ctx = ExportContext(
        trial=story.team.trial,
        protocol_version=current_version(story.team.trial.pk),
        as_of=AFTER_ALL,
    )
    raw, root = export(ctx, tmp_path)
    assert schema().validate(root.getroottree())
    revealing = revealing_item_oids(story)
    assert {"IT.INFUSION.KIT_NUMBER", "IT.INFUSION.CELL_COUNT_1E6"} <= revealing
    assert oids(root, "ItemDef") & revealing == set()
    assert oids(root, "ItemRef", "ItemOID") & revealing == set()
    assert oids(root, "ItemData", "ItemOID") & revealing == set()
    assert "CL.SUBJECT.ARM" not in oids(root, "CodeList")
    arms = {"MSC", "PLACEBO"}
    assert oids(root, "CodeListItem", "CodedValue") & arms == set()
    assert "MU.CELLS_KG" not in oids(root, "MeasurementUnit")
    for secret in (KIT.encode(), LOT.encode(), b"92.5", b"Randomized arm"):
        assert secret not in raw
    # The infusion itself is visible: that it was given and its volume.
    assert [el.get("Value") for el in item_data(root, "IT.INFUSION.GIVEN")] == ["Y"]
    # The pharmacist entered only revealing fields: the blinded file does not name them.
    assert f"U.{story.pharmacist.pk}" not in oids(root, "User")
    assert "BLINDED" in root.get("FileOID")


def test_unblinded_export_holds_the_arm_and_the_product(story, tmp_path) -> None:
    raw, root = export(story.context(AFTER_ALL, blinded=False), tmp_path)
    assert schema().validate(root.getroottree())
    assert revealing_item_oids(story) <= oids(root, "ItemDef")
    arm = AllocationSlot.objects.get(participant=story.subject).arm_code
    assigned = item_data(root, "IT.SUBJECT.ARM")
    assert [(el.get("TransactionType"), el.get("Value")) for el in assigned] == [("Insert", arm)]
    assert audit(assigned[0])["reason"] == "Randomized"
    codes = {
        el.get("CodedValue")
        for el in root.iterfind(".//odm:CodeList[@OID='CL.SUBJECT.ARM']/odm:CodeListItem", NS)
    }
    assert codes == {"MSC", "PLACEBO"}
    kit = item_data(root, "IT.INFUSION.KIT_NUMBER")
    assert [el.get("Value") for el in kit] == [KIT]
    assert audit(kit[0])["user"] == f"U.{story.pharmacist.pk}"
    assert audit(kit[0])["reason"] == "Product record"
    assert LOT.encode() in raw
    # The participant never randomized has no arm.
    other = root.find(f".//odm:SubjectData[@SubjectKey='{story.other.screening_number}']", NS)
    assert item_data(other, "IT.SUBJECT.ARM") == []


def test_a_field_the_protocol_marks_revealing_is_left_out_too(story, tmp_path) -> None:
    text = (PROTOCOLS_DIR / "nct03673748.yaml").read_text()
    amended = text.replace('version: "1.6"', 'version: "1.7"', 1).replace(
        "  allocation_revealing:\n",
        "  allocation_revealing:\n    vitals: [temperature_c]\n",
        1,
    )
    assert amended.count("vitals: [temperature_c]") == 1
    loaded_at = datetime(2026, 3, 15, tzinfo=UTC)
    with time_machine.travel(loaded_at, tick=False):
        protocol_load(
            actor=system_actor(),
            definition=parse_protocol_text(amended, source="amendment.yaml"),
            source_name="amendment.yaml",
            now=loaded_at,
        )
    _, blinded = export(story.context(AFTER_ALL), tmp_path / "blinded")
    assert blinded.find(".//odm:MetaDataVersion", NS).get("OID") == "MDV.2"
    assert "IT.VITALS.TEMPERATURE_C" not in oids(blinded, "ItemDef")
    assert item_data(blinded, "IT.VITALS.TEMPERATURE_C") == []
    assert item_data(blinded, "IT.VITALS.SYSTOLIC") != []
    _, unblinded = export(story.context(AFTER_ALL, blinded=False), tmp_path / "unblinded")
    assert [el.get("Value") for el in item_data(unblinded, "IT.VITALS.TEMPERATURE_C")] == [
        "36.6",
        "36.6",
        "38.4",
    ]
    # Blinding errs on the safe side: the amendment hides the field from a blinded export of
    # an earlier date too, under the version then in force.
    first = ProtocolVersion.objects.get(trial=story.team.trial, number=1)
    earlier = ExportContext(
        trial=story.team.trial, protocol_version=first, as_of=datetime(2026, 3, 14, tzinfo=UTC)
    )
    _, before = export(earlier, tmp_path / "before")
    assert before.find(".//odm:MetaDataVersion", NS).get("OID") == "MDV.1"
    assert item_data(before, "IT.VITALS.TEMPERATURE_C") == []
    assert item_data(before, "IT.VITALS.SYSTOLIC") != []
