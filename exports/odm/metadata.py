"""The Study block: global variables, units and the MetaDataVersion of the protocol."""

from __future__ import annotations

from exports.odm.catalogue import Catalogue, Event, Form
from exports.odm.items import CodeList, Item
from exports.odm.writer import XmlWriter

LANG = "en"


def _yes(flag: bool) -> str:
    return "Yes" if flag else "No"


def _translated(w: XmlWriter, element: str, text: str) -> None:
    w.start(element)
    w.leaf("TranslatedText", text, {"xml:lang": LANG})
    w.end(element)


def _event_def(w: XmlWriter, event: Event) -> None:
    w.start(
        "StudyEventDef",
        {
            "OID": event.oid,
            "Name": event.name,
            "Repeating": _yes(event.repeating),
            "Type": event.type,
            "Category": event.category,
        },
    )
    for order, (form_oid, mandatory) in enumerate(event.forms, start=1):
        w.empty(
            "FormRef",
            {"FormOID": form_oid, "OrderNumber": str(order), "Mandatory": _yes(mandatory)},
        )
    w.end("StudyEventDef")


def _form_def(w: XmlWriter, form: Form) -> None:
    w.start("FormDef", {"OID": form.oid, "Name": form.label, "Repeating": _yes(form.repeating)})
    w.empty(
        "ItemGroupRef", {"ItemGroupOID": form.group_oid, "OrderNumber": "1", "Mandatory": "Yes"}
    )
    w.end("FormDef")


def _group_def(w: XmlWriter, form: Form) -> None:
    w.start("ItemGroupDef", {"OID": form.group_oid, "Name": form.label, "Repeating": "No"})
    for order, item in enumerate(form.items, start=1):
        w.empty(
            "ItemRef",
            {"ItemOID": item.oid, "OrderNumber": str(order), "Mandatory": _yes(item.mandatory)},
        )
    w.end("ItemGroupDef")


def _item_def(w: XmlWriter, item: Item) -> None:
    w.start(
        "ItemDef",
        {
            "OID": item.oid,
            "Name": item.name,
            "DataType": item.data_type,
            "Length": str(item.length) if item.length else None,
            "SignificantDigits": str(item.digits) if item.digits is not None else None,
            "Origin": item.origin,
        },
    )
    _translated(w, "Question", item.label)
    if item.unit is not None:
        w.empty("MeasurementUnitRef", {"MeasurementUnitOID": item.unit.oid})
    if item.codelist is not None:
        w.empty("CodeListRef", {"CodeListOID": item.codelist.oid})
    w.end("ItemDef")


def _code_list(w: XmlWriter, codelist: CodeList) -> None:
    w.start(
        "CodeList",
        {"OID": codelist.oid, "Name": codelist.name, "DataType": codelist.data_type},
    )
    for order, (coded, decode) in enumerate(codelist.values, start=1):
        w.start("CodeListItem", {"CodedValue": coded, "OrderNumber": str(order)})
        _translated(w, "Decode", decode)
        w.end("CodeListItem")
    w.end("CodeList")


def write_study(w: XmlWriter, catalogue: Catalogue) -> None:
    """Write Study: GlobalVariables, BasicDefinitions (units), then the MetaDataVersion with
    Protocol, StudyEventDef, FormDef, ItemGroupDef, ItemDef and CodeList in schema order."""
    w.start("Study", {"OID": catalogue.study_oid})
    w.start("GlobalVariables")
    w.leaf("StudyName", catalogue.study_name)
    w.leaf("StudyDescription", catalogue.study_description)
    w.leaf("ProtocolName", catalogue.protocol_name)
    w.end("GlobalVariables")
    units = catalogue.units
    if units:
        w.start("BasicDefinitions")
        for unit in units:
            w.start("MeasurementUnit", {"OID": unit.oid, "Name": unit.symbol})
            _translated(w, "Symbol", unit.symbol)
            w.end("MeasurementUnit")
        w.end("BasicDefinitions")
    w.start("MetaDataVersion", {"OID": catalogue.mdv_oid, "Name": catalogue.mdv_name})
    w.start("Protocol")
    for order, event in enumerate(catalogue.events, start=1):
        w.empty(
            "StudyEventRef",
            {
                "StudyEventOID": event.oid,
                "OrderNumber": str(order),
                "Mandatory": _yes(event.mandatory),
            },
        )
    w.end("Protocol")
    for event in catalogue.events:
        _event_def(w, event)
    forms = catalogue.forms
    for form in forms:
        _form_def(w, form)
    for form in forms:
        _group_def(w, form)
    for form in forms:
        for item in form.items:
            _item_def(w, item)
    for codelist in catalogue.codelists:
        _code_list(w, codelist)
    w.end("MetaDataVersion")
    w.end("Study")
