"""The AdminData and ClinicalData blocks: who changed what, where, when and why."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from accounts.models import User
from exports.base import Progress
from exports.odm.catalogue import Catalogue
from exports.odm.history import Location, Point, Snapshot
from exports.odm.writer import XmlWriter

UNKNOWN_USER = "U.UNKNOWN"
# Data points written between two progress reports.
PROGRESS_EVERY = 500

_LEVELS = ("SubjectData", "StudyEventData", "FormData", "ItemGroupData")


def user_oid(user_id: int | None) -> str:
    return UNKNOWN_USER if user_id is None else f"U.{user_id}"


@dataclass
class Written:
    """What the ClinicalData block wrote and referred to."""

    points: int = 0
    users: set[int | None] = field(default_factory=set)
    sites: set[int] = field(default_factory=set)


def _open(w: XmlWriter, level: int, point: Point, snap: Snapshot, written: Written) -> None:
    if level == 0:
        subject = snap.subjects[point.subject_id]
        w.start("SubjectData", {"SubjectKey": subject.key})
        w.empty("SiteRef", {"LocationOID": snap.locations[subject.site_id].oid})
        written.sites.add(subject.site_id)
    elif level == 1:
        oid, repeat = point.event
        w.start("StudyEventData", {"StudyEventOID": oid, "StudyEventRepeatKey": repeat})
    elif level == 2:
        oid, repeat = point.form
        w.start("FormData", {"FormOID": oid, "FormRepeatKey": repeat})
    else:
        w.start("ItemGroupData", {"ItemGroupOID": point.group})


def _item_data(w: XmlWriter, point: Point, location: Location) -> None:
    attrs = {"ItemOID": point.item, "TransactionType": point.transaction}
    if point.value is None:
        attrs["IsNull"] = "Yes"
    else:
        attrs["Value"] = point.value
    w.start("ItemData", attrs)
    w.start("AuditRecord")
    w.empty("UserRef", {"UserOID": user_oid(point.user_id)})
    w.empty("LocationRef", {"LocationOID": location.oid})
    w.leaf("DateTimeStamp", point.when.astimezone(location.time_zone).isoformat())
    if point.reason:
        w.leaf("ReasonForChange", point.reason)
    w.leaf("SourceID", point.source)
    w.end("AuditRecord")
    w.end("ItemData")


def write_clinical_data(
    w: XmlWriter,
    catalogue: Catalogue,
    snap: Snapshot,
    points: Iterable[Point],
    progress: Progress,
) -> Written:
    """Write ClinicalData, opening each SubjectData, StudyEventData, FormData and
    ItemGroupData once for the run of data points it holds."""
    written = Written()
    w.start(
        "ClinicalData", {"StudyOID": catalogue.study_oid, "MetaDataVersionOID": catalogue.mdv_oid}
    )
    path: list[object] = []
    pending = 0
    for point in points:
        target = [point.subject_id, point.event, point.form, point.group]
        same = 0
        while same < len(path) and path[same] == target[same]:
            same += 1
        for level in range(len(path) - 1, same - 1, -1):
            w.end(_LEVELS[level])
        for level in range(same, 4):
            _open(w, level, point, snap, written)
        path = target
        location = snap.locations[snap.subjects[point.subject_id].site_id]
        _item_data(w, point, location)
        written.users.add(point.user_id)
        written.points += 1
        pending += 1
        if pending >= PROGRESS_EVERY:
            progress(pending)
            pending = 0
    for level in range(len(path) - 1, -1, -1):
        w.end(_LEVELS[level])
    w.end("ClinicalData")
    progress(pending)
    return written


def write_admin_data(w: XmlWriter, catalogue: Catalogue, snap: Snapshot, written: Written) -> None:
    """The users and sites the audit records name, in id order; users are described as their
    accounts now stand (accounts keep no history), identified by their ids."""
    w.start("AdminData", {"StudyOID": catalogue.study_oid})
    ids = sorted(user_id for user_id in written.users if user_id is not None)
    users = {
        user.pk: user
        for user in User.objects.filter(pk__in=ids).only(
            "username", "printed_name", "first_name", "last_name"
        )
    }
    if None in written.users:
        w.start("User", {"OID": UNKNOWN_USER, "UserType": "Other"})
        w.leaf("DisplayName", "Unknown")
        w.end("User")
    for user_id in ids:
        user = users.get(user_id)
        w.start("User", {"OID": user_oid(user_id)})
        if user is not None:
            w.leaf("LoginName", user.username)
            w.leaf("DisplayName", user.display_name())
        w.end("User")
    for site_id in sorted(written.sites, key=lambda pk: snap.locations[pk].oid):
        location = snap.locations[site_id]
        w.start("Location", {"OID": location.oid, "Name": location.name, "LocationType": "Site"})
        w.empty(
            "MetaDataVersionRef",
            {
                "StudyOID": catalogue.study_oid,
                "MetaDataVersionOID": catalogue.mdv_oid,
                "EffectiveDate": catalogue.effective_date,
            },
        )
        w.end("Location")
    w.end("AdminData")
