"""Concomitant medications: dates, prednisone-equivalent dose and rescue therapy, fed to renal."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.utils.translation import gettext, gettext_noop

from assessments.forms_kit import FormScope, FormType
from assessments.models import ConcomitantMedication, EntryStatus
from assessments.models.conmed import DoseUnit, Frequency, MedicationCategory, Route
from assessments.rules.base import Checks, FormContext
from assessments.rules.common import check_partial_date, coerce, partial_bounds
from ecrf.access import SITE_STAFF_ROLES, Role
from ecrf.messages import Text
from trials.definitions import definition_of
from trials.models import Participant
from trials.protocol import Rescue

# mg of prednisone per mg of the drug, from the usual equivalent anti-inflammatory doses
# (prednisone 5 mg = prednisolone 5 mg = methylprednisolone 4 mg = dexamethasone 0.75 mg =
# hydrocortisone 20 mg). Longer names first: "methylprednisolone" contains "prednisolone".
PREDNISONE_FACTORS: tuple[tuple[str, Decimal], ...] = (
    ("methylprednisolone", Decimal("1.25")),
    ("prednisolone", Decimal(1)),
    ("prednisone", Decimal(1)),
    ("dexamethasone", Decimal("6.67")),
    ("hydrocortisone", Decimal("0.25")),
)
MG_PER_UNIT = {DoseUnit.MG: Decimal(1), DoseUnit.G: Decimal(1000)}
# Inhaled and skin steroids do not count toward the systemic dose; rectal ones do.
NON_SYSTEMIC_ROUTES = frozenset({Route.TOPICAL, Route.INHALED})
UNUSUAL_PREDNISONE_MG_DAY = Decimal(1250)

SITE_FIELDS: tuple[str, ...] = (
    "medication",
    "category",
    "dose",
    "dose_unit",
    "route",
    "frequency",
    "indication",
    "start_date",
    "end_date",
    "ongoing",
    "given_as_rescue",
)
CODED_FIELDS: tuple[str, ...] = ("coded_term", "coded_code", "dictionary_version")
# Coding happens outside the eCRF; data management re-imports the codes.
CODERS = frozenset({Role.DATA_MANAGER, Role.CODER})


def _drug_text(cm: ConcomitantMedication) -> str:
    return f"{cm.coded_term or ''} {cm.medication or ''}".lower()


def glucocorticoid_of(cm: ConcomitantMedication) -> tuple[str, Decimal] | None:
    """The glucocorticoid named by the coded term or the verbatim text, and its factor."""
    text = _drug_text(cm)
    for name, factor in PREDNISONE_FACTORS:
        if name in text:
            return name, factor
    return None


def rescue_agent_of(cm: ConcomitantMedication, rescue: Rescue | None) -> str | None:
    """The drug of the protocol's rescue list the entry names, if any."""
    return None if rescue is None else rescue.drug_in(_drug_text(cm))


def marked_rescue(cm: ConcomitantMedication) -> bool:
    """The site says the entry is rescue therapy (by its category or its answer)."""
    return cm.category == MedicationCategory.RESCUE or cm.given_as_rescue is True


def _listed_after_day0(
    cm: ConcomitantMedication, rescue: Rescue | None, day0: date | None
) -> str | None:
    """The listed drug of an entry the site has not answered for that may have started after
    Day 0 (a new entry, as a dose escalation is recorded, counts from its own start)."""
    if cm.given_as_rescue is not None or day0 is None:
        return None
    agent = rescue_agent_of(cm, rescue)
    start = _bounds(cm.start_date)
    if agent is None or (start is not None and start[1] <= day0):
        return None
    return agent


def counts_toward_prednisone(cm: ConcomitantMedication) -> bool:
    return cm.category == MedicationCategory.GLUCOCORTICOID and cm.route not in NON_SYSTEMIC_ROUTES


def _prednisone_mg_day(cm: ConcomitantMedication) -> tuple[Decimal, Decimal] | None:
    """(mg/day prednisone equivalent, factor) when the entry allows it, else None."""
    drug = glucocorticoid_of(cm)
    if (
        not counts_toward_prednisone(cm)
        or drug is None
        or cm.dose is None
        or cm.dose_unit not in MG_PER_UNIT
        or cm.frequency != Frequency.DAILY
    ):
        return None
    factor = drug[1]
    return cm.dose * MG_PER_UNIT[DoseUnit(cm.dose_unit)] * factor, factor


def _is_rescue(cm: ConcomitantMedication, ctx: FormContext) -> bool:
    rescue = ctx.definition.response.rescue
    return marked_rescue(cm) or _listed_after_day0(cm, rescue, ctx.participant.day0) is not None


def validate(cm: ConcomitantMedication, ctx: FormContext, checks: Checks) -> None:
    if not coerce(cm, (*SITE_FIELDS, *CODED_FIELDS), ctx, checks):
        return
    start = check_partial_date(cm, "start_date", ctx, checks)
    end = check_partial_date(cm, "end_date", ctx, checks)
    if start is not None and end is not None and end[1] < start[0]:
        checks.error(
            "end_date",
            gettext("The end (%(end)s) is before the start (%(start)s).")
            % {"end": cm.end_date, "start": cm.start_date},
        )
    if cm.ongoing and cm.end_date:
        checks.error("end_date", gettext("An ongoing medication has no end date."))
    if not cm.ongoing and not cm.end_date:
        checks.warn("end_date", Text(gettext_noop("Give the end date, or tick ongoing.")))
    if cm.dose is not None:
        if cm.dose <= 0:
            checks.error("dose", gettext("The dose must be greater than 0."))
        if not cm.dose_unit:
            checks.error("dose_unit", gettext("Give the unit of the dose."))
    if any(getattr(cm, name) for name in ("coded_term", "coded_code")) and not (
        cm.dictionary_version
    ):
        checks.error(
            "dictionary_version", gettext("Give the dictionary version the drug was coded with.")
        )
    if checks.errors:
        return
    _check_glucocorticoid(cm, checks)
    _check_rescue(cm, ctx, checks)


def _check_glucocorticoid(cm: ConcomitantMedication, checks: Checks) -> None:
    drug = glucocorticoid_of(cm)
    if drug is not None and cm.category != MedicationCategory.GLUCOCORTICOID:
        checks.warn(
            "category",
            Text(
                gettext_noop(
                    "%(drug)s is a glucocorticoid: choose category glucocorticoid so its dose "
                    "counts toward the prednisone dose."
                ),
                drug=drug[0].capitalize(),
            ),
        )
    if not counts_toward_prednisone(cm):
        return
    consequence = Text(
        gettext_noop(
            "it has no prednisone equivalent, and response rule sets that need the prednisone "
            "dose are not derived while it is taken."
        )
    )
    if drug is None:
        checks.warn(
            "medication",
            Text(
                gettext_noop(
                    "No prednisone equivalent is known for %(medication)s (known: %(known)s); "
                    "%(consequence)s"
                ),
                medication=cm.medication,
                known=", ".join(name for name, _factor in PREDNISONE_FACTORS),
                consequence=consequence,
            ),
        )
    elif cm.dose is None:
        checks.warn(
            "dose",
            Text(
                gettext_noop("Give the dose: without it %(consequence)s"), consequence=consequence
            ),
        )
    elif cm.dose_unit not in MG_PER_UNIT:
        checks.warn(
            "dose_unit",
            Text(
                gettext_noop("Give the dose in mg: otherwise %(consequence)s"),
                consequence=consequence,
            ),
        )
    elif cm.frequency != Frequency.DAILY:
        checks.warn(
            "frequency",
            Text(
                gettext_noop(
                    "The prednisone equivalent is derived in mg/day for frequency 'daily' only: "
                    "record the total daily dose with frequency daily; otherwise %(consequence)s"
                ),
                consequence=consequence,
            ),
        )
    else:
        derived = _prednisone_mg_day(cm)
        if derived is not None and derived[0] > UNUSUAL_PREDNISONE_MG_DAY:
            checks.warn(
                "dose",
                Text(
                    gettext_noop(
                        "%(dose)s mg/day prednisone equivalent is unusual (above %(limit)s "
                        "mg/day); please confirm the dose and unit."
                    ),
                    dose=derived[0],
                    limit=UNUSUAL_PREDNISONE_MG_DAY,
                ),
            )


def _check_rescue(cm: ConcomitantMedication, ctx: FormContext, checks: Checks) -> None:
    if cm.category == MedicationCategory.RESCUE and cm.given_as_rescue is False:
        checks.error(
            "given_as_rescue",
            gettext("The category is rescue therapy: answer yes, or choose another category."),
        )
    agent = _listed_after_day0(cm, ctx.definition.response.rescue, ctx.participant.day0)
    if agent is not None and cm.category != MedicationCategory.RESCUE:
        checks.warn(
            "given_as_rescue",
            Text(
                gettext_noop(
                    "%(agent)s is on the list of rescue agents: started after Day 0, it counts as "
                    "rescue therapy in the renal response (non-response). Choose category rescue "
                    "to confirm, or answer 'given as rescue: no' if it was not."
                ),
                agent=agent.capitalize(),
            ),
        )


def derive(cm: ConcomitantMedication, ctx: FormContext) -> None:
    derived = _prednisone_mg_day(cm)
    cm.prednisone_equivalent_mg_day = (
        derived[0].quantize(Decimal("0.001")) if derived is not None else None
    )
    cm.prednisone_factor = derived[1] if derived is not None else None
    cm.is_rescue = _is_rescue(cm, ctx)


def _rescue_list(cm: ConcomitantMedication) -> Rescue | None:
    return definition_of(cm.protocol_version).response.rescue


def explain(cm: ConcomitantMedication) -> str:
    parts = []
    if cm.prednisone_equivalent_mg_day is not None:
        drug = glucocorticoid_of(cm)
        name = drug[0] if drug else cm.medication
        parts.append(
            f"Prednisone equivalent: {cm.dose:f} {cm.dose_unit}/day {name} x "
            f"{cm.prednisone_factor:f} = {cm.prednisone_equivalent_mg_day:f} mg/day"
        )
    elif counts_toward_prednisone(cm):
        parts.append("Prednisone equivalent: not derived (see the warnings)")
    if cm.is_rescue:
        why = (
            "category rescue"
            if cm.category == MedicationCategory.RESCUE
            else "confirmed by the site"
            if cm.given_as_rescue
            else f"{rescue_agent_of(cm, _rescue_list(cm))} is on the rescue list"
        )
        parts.append(f"Rescue therapy: yes ({why})")
    return "; ".join(parts) + ("." if parts else "")


@dataclass
class Exposure:
    """What the medication log says on one day, for the renal response."""

    prednisone_mg_day: Decimal | None
    rescue: bool
    notes: list[str] = field(default_factory=list)
    uncertain: bool = False


def exposure_on(participant: Participant, day: date, *, rescue: Rescue | None = None) -> Exposure:
    """The systemic glucocorticoid dose taken on `day` (prednisone mg/day): the sum of the
    prednisone equivalents of every glucocorticoid entry taken that day, and whether rescue
    therapy started on or before it: an entry the site marks as rescue, or a drug of the
    protocol's `rescue` list started after Day 0 that the site has not answered 'no' for. An
    entry counts from its start to its end date, both days included. A partial date that may
    fall either side of `day` (or of Day 0) is counted (the conservative reading) and makes the
    result uncertain; nothing is imputed. The dose is unknown (None) when a glucocorticoid
    taken that day has no equivalent."""
    doses: list[Decimal] = []
    unknown: list[str] = []
    found: list[str] = []
    notes: list[str] = []
    uncertain = False
    day0 = participant.day0
    medications = ConcomitantMedication.objects.filter(
        participant=participant, entry_status=EntryStatus.ENTERED
    ).order_by("pk")
    for cm in medications:
        start = _bounds(cm.start_date)
        end = _bounds(cm.end_date)
        if start is not None and start[0] > day:
            continue
        surely_started = start is not None and start[1] <= day
        if marked_rescue(cm) or _listed_after_day0(cm, rescue, day0) is not None:
            found.append(cm.medication)
            if not surely_started:
                uncertain = True
                notes.append(
                    f"{cm.medication} (start {cm.start_date or 'unknown'}) may have started "
                    f"after {day}; counted as rescue."
                )
            elif not marked_rescue(cm) and day0 is not None and (start is None or start[0] <= day0):
                uncertain = True
                notes.append(
                    f"{cm.medication} (start {cm.start_date or 'unknown'}) may have started "
                    f"on or before Day 0 ({day0}); counted as rescue."
                )
        if not counts_toward_prednisone(cm) or (end is not None and end[1] < day):
            continue
        if not surely_started or (end is not None and end[0] < day):
            uncertain = True
            notes.append(
                f"{cm.medication} ({cm.start_date or '?'} to {cm.end_date or 'ongoing'}) may not "
                f"have been taken on {day}; counted."
            )
        if cm.prednisone_equivalent_mg_day is None:
            unknown.append(cm.medication)
        else:
            doses.append(cm.prednisone_equivalent_mg_day)
    if unknown:
        notes.append(
            f"Prednisone dose unknown on {day}: {', '.join(unknown)} has no daily prednisone "
            "equivalent."
        )
    if found:
        notes.append(f"Rescue therapy on or before {day}: {', '.join(found)}.")
    return Exposure(
        prednisone_mg_day=None if unknown else sum(doses, Decimal(0)),
        rescue=bool(found),
        notes=notes,
        uncertain=uncertain,
    )


def _bounds(value: str) -> tuple[date, date] | None:
    if not value:
        return None
    try:
        return partial_bounds(value)
    except ValueError:
        return None


CONMED = FormType(
    code="conmed",
    label=gettext_noop("Concomitant medication"),
    model=ConcomitantMedication,
    scope=FormScope.LOG,
    fields=(*SITE_FIELDS, *CODED_FIELDS),
    required=("medication", "category", "start_date"),
    derived=("prednisone_equivalent_mg_day", "prednisone_factor", "is_rescue"),
    editors=SITE_STAFF_ROLES,
    field_editors={name: CODERS for name in CODED_FIELDS},
    validate=validate,
    derive=derive,
    explain=explain,
    fieldsets=(
        ("Medication", ("medication", "category", "indication", "given_as_rescue")),
        ("Dose", ("dose", "dose_unit", "route", "frequency")),
        ("Dates", ("start_date", "end_date", "ongoing")),
        ("Coding", CODED_FIELDS),
    ),
)
