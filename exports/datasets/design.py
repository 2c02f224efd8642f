"""The trial design datasets (TS, TA, TE, TV, TI) from the protocol definition loaded at the
export instant, and SE, each participant's path through the elements.

Two elements follow each other: screening, from informed consent to the first study infusion,
and treatment, from the start of that infusion to the end of participation. Their epochs are
those of every dated record (`Subject.epoch`). A blinded export has one masked arm, as DM has,
whose treatment element is the study infusion; an unblinded one has an element per arm or
dose cohort.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from exports.base import Dataset, ExportContext, Variable
from exports.datasets.allocation import allocations
from exports.datasets.common import (
    EPOCH,
    SCREENING,
    TREATMENT,
    Definitions,
    Layout,
    char,
    dtc_day,
    first_infusions,
    grouped,
    iso_date,
    num,
    records,
    subject_batches,
    subject_ids,
)
from exports.datasets.demography import BLINDED_ARM, BLINDED_ARMCD, ENDED
from exports.datasets.visits import planned_study_day
from trials.definitions import definition_of
from trials.models import Consent, ProtocolVersion
from trials.protocol import ProtocolDefinition

# The longest text SAS transport version 5 keeps, in bytes.
TEXT_MAX = 200
SCREENING_ELEMENT = ("SCRN", "Screening")
BLINDED_ELEMENT = ("INF", "Study infusion")
CONSENT_RULE = "Informed consent"
INFUSION_RULE = "Start of the first study infusion"
END_RULE = "End of participation"


def definition_at(ctx: ExportContext) -> tuple[ProtocolDefinition, str] | None:
    """The protocol definition in force at the export instant (the last version loaded by
    then) with its version label; None before the first was loaded."""
    version = (
        ProtocolVersion.objects.filter(trial=ctx.trial, loaded_at__lte=ctx.as_of)
        .order_by("-number")
        .first()
    )
    return (definition_of(version), version.label) if version is not None else None


def text_pieces(text: str, limit: int = TEXT_MAX) -> list[str]:
    """`text` on one line, cut between words into pieces of at most `limit` UTF-8 bytes (a
    word longer than that is cut inside); joined with blanks they give the text again."""
    pieces: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}" if current else word
        if len(candidate.encode("utf-8")) <= limit:
            current = candidate
            continue
        if current:
            pieces.append(current)
        while len(word.encode("utf-8")) > limit:
            head = word.encode("utf-8")[:limit].decode("utf-8", errors="ignore")
            pieces.append(head)
            word = word[len(head) :]
        current = word
    if current:
        pieces.append(current)
    return pieces


def short_text(text: str, limit: int = TEXT_MAX) -> str:
    """The first piece of `text` (see `text_pieces`): at most `limit` bytes, cut between words."""
    pieces = text_pieces(text, limit)
    return pieces[0] if pieces else ""


# --- TS -------------------------------------------------------------------------------------

PHASES = {
    "phase1": "PHASE I TRIAL",
    "phase1_phase2": "PHASE I/II TRIAL",
    "phase2": "PHASE II TRIAL",
    "phase2_phase3": "PHASE II/III TRIAL",
    "phase3": "PHASE III TRIAL",
    "phase4": "PHASE IV TRIAL",
}
BLINDING = {
    "none": "OPEN LABEL",
    "single": "SINGLE BLIND",
    "double": "DOUBLE BLIND",
    "triple": "TRIPLE BLIND",
    "quadruple": "QUADRUPLE BLIND",
}
TRT_NAME = "Investigational Therapy or Treatment"
# TINDTP (Trial Intent Type) of the registry's primary purposes that have a CDISC term.
INTENTS = {"treatment": "TREATMENT", "prevention": "PREVENTION", "diagnostic": "DIAGNOSIS"}
TRIAL_TYPES = {
    "efficacy": "EFFICACY",
    "safety": "SAFETY",
    "dose_response": "DOSE RESPONSE",
    "dose_finding": "DOSE FINDING",
}
SEX_POPULATION = {"all": "BOTH", "female": "F", "male": "M"}
CONTROLS = {"placebo_comparator": "PLACEBO", "active_comparator": "ACTIVE"}
# ISO 21090 null flavor of a parameter without an upper bound (AGEMAX of a trial with none).
NULL_FLAVOR_PINF = "PINF"
TS_VARIABLES = (
    char("STUDYID", "Study Identifier"),
    char("DOMAIN", "Domain Abbreviation", codelist=("TS",)),
    num("TSSEQ", "Sequence Number"),
    char("TSPARMCD", "Trial Summary Parameter Short Name", length=8),
    char("TSPARM", "Trial Summary Parameter", length=40),
    char("TSVAL", "Parameter Value"),
    char("TSVALNF", "Parameter Null Flavor", codelist=(NULL_FLAVOR_PINF,)),
    char("TSVALCD", "Parameter Value Code"),
    char("TSVCDREF", "Name of the Reference Terminology"),
)
TS_LAYOUT = Layout(TS_VARIABLES)


@dataclass(frozen=True)
class Parameter:
    """One TS record before numbering: TSPARMCD, TSPARM, TSVAL and what qualifies it."""

    code: str
    name: str
    value: str
    reference: str = ""
    value_code: str = ""
    null_flavor: str = ""


def _population(definition: ProtocolDefinition) -> list[Parameter]:
    """AGEMIN, AGEMAX (ISO 8601 durations; PINF without an upper age), SEXPOP, HLTSUBJI."""
    eligibility = definition.eligibility
    found = []
    if eligibility.min_age_years is not None:
        found.append(
            Parameter("AGEMIN", "Planned Minimum Age of Subjects", f"P{eligibility.min_age_years}Y")
        )
    if eligibility.max_age_years is not None:
        found.append(
            Parameter("AGEMAX", "Planned Maximum Age of Subjects", f"P{eligibility.max_age_years}Y")
        )
    else:
        found.append(
            Parameter("AGEMAX", "Planned Maximum Age of Subjects", "", null_flavor=NULL_FLAVOR_PINF)
        )
    found.append(Parameter("SEXPOP", "Sex of Participants", SEX_POPULATION[eligibility.sex]))
    healthy = "Y" if eligibility.accepts_healthy_volunteers else "N"
    found.append(Parameter("HLTSUBJI", "Healthy Subject Indicator", healthy))
    return found


def _purpose(definition: ProtocolDefinition) -> list[Parameter]:
    """INDIC (with its code when the protocol gives one), TINDTP and TTYPE."""
    found = []
    indication = definition.indication
    if indication is not None:
        found.append(
            Parameter(
                "INDIC",
                "Trial Disease/Condition Indication",
                indication.text,
                reference=indication.code_system or "",
                value_code=indication.code or "",
            )
        )
    intent = INTENTS.get(definition.primary_purpose or "")
    if intent:
        found.append(Parameter("TINDTP", "Trial Intent Type", intent))
    found.extend(
        Parameter("TTYPE", "Trial Type", TRIAL_TYPES[kind]) for kind in definition.trial_types
    )
    return found


def study_start(ctx: ExportContext) -> str:
    """SSTDTC: the first informed consent recorded by the export instant, empty before any."""
    consents = records(Consent, ctx, entered=False).order_by("consent_date")
    first = consents.values_list("consent_date", flat=True).first()
    return iso_date(first)


def _ts_parameters(ctx: ExportContext, definition: ProtocolDefinition) -> list[Parameter]:
    """The TS records of the trial, before numbering."""
    identifiers = definition.identifiers
    found = [
        Parameter("TITLE", "Trial Title", definition.title),
        Parameter("STYPE", "Study Type", "INTERVENTIONAL"),
        Parameter("TPHASE", "Trial Phase Classification", PHASES.get(definition.phase, "")),
        Parameter("TBLIND", "Trial Blinding Schema", BLINDING.get(definition.masking, "")),
        Parameter("RANDOM", "Trial is Randomized", "Y" if definition.randomization else "N"),
        Parameter("PLANSUB", "Planned Number of Subjects", str(definition.planned_enrollment)),
        Parameter("SPONSOR", "Clinical Study Sponsor", definition.sponsor),
        Parameter("REGID", "Registry Identifier", identifiers.nct, "ClinicalTrials.gov"),
        *_population(definition),
        *_purpose(definition),
    ]
    if identifiers.eudract:
        found.append(Parameter("REGID", "Registry Identifier", identifiers.eudract, "EudraCT"))
    if identifiers.sponsor_code:
        found.append(Parameter("SPREFID", "Sponsor's Study Reference ID", identifiers.sponsor_code))
    started = study_start(ctx)
    if started:
        found.append(Parameter("SSTDTC", "Study Start Date", started))
    if not ctx.blinded:
        # The products by name, the control and how many arms: left to the unblinded export
        # with the arm names, as its TA is (a blinded TA has one masked arm).
        found.append(Parameter("NARMS", "Planned Number of Arms", str(len(definition.arms))))
        controls = {CONTROLS[arm.type] for arm in definition.arms if arm.type in CONTROLS}
        found.extend(
            Parameter("TCNTRL", "Control Type", control) for control in sorted(controls) or ["NONE"]
        )
        for arm in definition.arms:
            if arm.type == "placebo_comparator":
                found.append(
                    Parameter("COMPTRT", "Comparative Treatment Name", arm.product or arm.name)
                )
            else:
                found.append(Parameter("TRT", TRT_NAME, arm.product or arm.name))
    return found


def _ts_rows(ctx: ExportContext) -> Iterator[tuple[object, ...]]:
    found = definition_at(ctx)
    if found is None:
        return
    definition, _ = found
    parameters = sorted(_ts_parameters(ctx, definition), key=lambda item: item.code)
    seen: dict[str, int] = {}
    for parameter in parameters:
        code = parameter.code
        seen[code] = seen.get(code, 0) + 1
        yield TS_LAYOUT.row(
            {
                "STUDYID": ctx.trial.code,
                "DOMAIN": "TS",
                "TSSEQ": seen[code],
                "TSPARMCD": code,
                "TSPARM": parameter.name,
                "TSVAL": short_text(parameter.value),
                "TSVALNF": parameter.null_flavor,
                "TSVALCD": parameter.value_code,
                "TSVCDREF": parameter.reference,
            }
        )


# --- TE and TA ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ArmDesign:
    code: str
    name: str
    element: tuple[str, str]
    branch: str


def arms_at(definition: ProtocolDefinition, *, blinded: bool) -> list[ArmDesign]:
    """The arms of TA: one masked arm in a blinded export; else each arm of a randomized
    stage and each cohort of a dose-escalation stage, with its own treatment element."""
    if blinded:
        return [ArmDesign(BLINDED_ARMCD, BLINDED_ARM, BLINDED_ELEMENT, "Allocated to an arm")]
    found: dict[str, ArmDesign] = {}
    for stage in definition.stages:
        for cohort in stage.cohorts:
            element = (cohort.code, cohort.name)
            found[cohort.code] = ArmDesign(
                cohort.code, cohort.name, element, f"Enrolled in {cohort.name}"
            )
        for code in stage.arms:
            if stage.cohorts or code in found:
                continue
            arm = definition.arm(code)
            found[code] = ArmDesign(code, arm.name, (code, arm.name), f"Randomized to {arm.name}")
    return sorted(found.values(), key=lambda arm: arm.code)


TE_VARIABLES = (
    char("STUDYID", "Study Identifier"),
    char("DOMAIN", "Domain Abbreviation", codelist=("TE",)),
    char("ETCD", "Element Code", length=8),
    char("ELEMENT", "Description of Element"),
    char("TESTRL", "Rule for Start of Element"),
    char("TEENRL", "Rule for End of Element"),
)
TE_LAYOUT = Layout(TE_VARIABLES)


def _te_rows(ctx: ExportContext) -> Iterator[tuple[object, ...]]:
    found = definition_at(ctx)
    if found is None:
        return
    elements = {SCREENING_ELEMENT[0]: (SCREENING_ELEMENT[1], CONSENT_RULE, INFUSION_RULE)}
    for arm in arms_at(found[0], blinded=ctx.blinded):
        elements[arm.element[0]] = (arm.element[1], INFUSION_RULE, END_RULE)
    for code in sorted(elements):
        name, start, end = elements[code]
        yield TE_LAYOUT.row(
            {
                "STUDYID": ctx.trial.code,
                "DOMAIN": "TE",
                "ETCD": code,
                "ELEMENT": name,
                "TESTRL": start,
                "TEENRL": end,
            }
        )


TA_VARIABLES = (
    char("STUDYID", "Study Identifier"),
    char("DOMAIN", "Domain Abbreviation", codelist=("TA",)),
    char("ARMCD", "Planned Arm Code", length=20),
    char("ARM", "Description of Planned Arm"),
    num("TAETORD", "Planned Order of Element within Arm"),
    char("ETCD", "Element Code", length=8),
    char("ELEMENT", "Description of Element"),
    char("TABRANCH", "Branch"),
    EPOCH,
)
TA_LAYOUT = Layout(TA_VARIABLES)


def _ta_rows(ctx: ExportContext) -> Iterator[tuple[object, ...]]:
    found = definition_at(ctx)
    if found is None:
        return
    for arm in arms_at(found[0], blinded=ctx.blinded):
        path = (
            (1, SCREENING_ELEMENT, arm.branch, SCREENING),
            (2, arm.element, "", TREATMENT),
        )
        for order, (code, name), branch, epoch in path:
            yield TA_LAYOUT.row(
                {
                    "STUDYID": ctx.trial.code,
                    "DOMAIN": "TA",
                    "ARMCD": arm.code,
                    "ARM": arm.name,
                    "TAETORD": order,
                    "ETCD": code,
                    "ELEMENT": name,
                    "TABRANCH": branch,
                    "EPOCH": epoch,
                }
            )


# --- TV -------------------------------------------------------------------------------------

TV_VARIABLES = (
    char("STUDYID", "Study Identifier"),
    char("DOMAIN", "Domain Abbreviation", codelist=("TV",)),
    num("VISITNUM", "Visit Number"),
    char("VISIT", "Visit Name"),
    num("VISITDY", "Planned Study Day of Visit", unit="days"),
    char("ARMCD", "Planned Arm Code", length=20),
    char("TVSTRL", "Visit Start Rule"),
)
TV_LAYOUT = Layout(TV_VARIABLES)


def _tv_rows(ctx: ExportContext) -> Iterator[tuple[object, ...]]:
    found = definition_at(ctx)
    if found is None:
        return
    for visit in sorted(found[0].visits, key=lambda visit: visit.order):
        window = f"{visit.day - visit.window_before} to {visit.day + visit.window_after}"
        yield TV_LAYOUT.row(
            {
                "STUDYID": ctx.trial.code,
                "DOMAIN": "TV",
                "VISITNUM": visit.order,
                "VISIT": visit.name,
                "VISITDY": planned_study_day(visit.day),
                # The same schedule for every arm.
                "ARMCD": "",
                "TVSTRL": f"Protocol day {visit.day} (days {window}), Day 0 being the first "
                "study infusion",
            }
        )


# --- TI -------------------------------------------------------------------------------------

INCLUSION = "INCLUSION"
EXCLUSION = "EXCLUSION"
# Continuations of a criterion text longer than IETEST holds, as SDTM splits long texts.
CONTINUATIONS = 4
TI_VARIABLES = (
    char("STUDYID", "Study Identifier"),
    char("DOMAIN", "Domain Abbreviation", codelist=("TI",)),
    char("IETESTCD", "Incl/Excl Criterion Short Name", length=8),
    char("IETEST", "Inclusion/Exclusion Criterion"),
    *(
        char(f"IETEST{n}", f"Incl/Excl Criterion, Continued ({n})")
        for n in range(1, CONTINUATIONS + 1)
    ),
    char("IECAT", "Inclusion/Exclusion Category", codelist=(EXCLUSION, INCLUSION)),
    char("IESCAT", "Inclusion/Exclusion Subcategory"),
    char("TIVERS", "Protocol Criteria Versions"),
)
TI_LAYOUT = Layout(TI_VARIABLES)


def _ti_rows(ctx: ExportContext) -> Iterator[tuple[object, ...]]:
    found = definition_at(ctx)
    if found is None:
        return
    definition, label = found
    criteria = [
        *((INCLUSION, criterion) for criterion in definition.eligibility.inclusion),
        *((EXCLUSION, criterion) for criterion in definition.eligibility.exclusion),
    ]
    for category, criterion in sorted(criteria, key=lambda item: item[1].code):
        pieces = text_pieces(criterion.text)
        if len(pieces) > 1 + CONTINUATIONS:
            raise ValueError(f"The text of {criterion.code} is too long for TI.")
        yield TI_LAYOUT.row(
            {
                "STUDYID": ctx.trial.code,
                "DOMAIN": "TI",
                "IETESTCD": criterion.code,
                "IETEST": pieces[0] if pieces else "",
                **{f"IETEST{n}": piece for n, piece in enumerate(pieces[1:], start=1)},
                "IECAT": category,
                "IESCAT": criterion.group or "",
                "TIVERS": label,
            }
        )


# --- SE -------------------------------------------------------------------------------------

SE_VARIABLES = (
    char("STUDYID", "Study Identifier"),
    char("DOMAIN", "Domain Abbreviation", codelist=("SE",)),
    char("USUBJID", "Unique Subject Identifier"),
    num("SESEQ", "Sequence Number"),
    char("ETCD", "Element Code", length=8),
    char("ELEMENT", "Description of Element"),
    num("TAETORD", "Planned Order of Element within Arm"),
    EPOCH,
    char("SESTDTC", "Start Date/Time of Element"),
    char("SEENDTC", "End Date/Time of Element"),
    num("SESTDY", "Study Day of Start of Element", unit="days"),
    num("SEENDY", "Study Day of End of Element", unit="days"),
)
SE_LAYOUT = Layout(SE_VARIABLES)


def _se_rows(ctx: ExportContext) -> Iterator[tuple[object, ...]]:
    definitions = Definitions(ctx)
    consents_of = records(Consent, ctx, entered=False)
    for batch in subject_batches(ctx):
        consents = grouped(consents_of, batch)
        arms = {} if ctx.blinded else allocations(ctx, batch, definitions)
        for subject in batch:
            dates = [row.consent_date for row in consents.get(subject.pk, [])]
            start = iso_date(min(dates)) if dates else subject.dtc(subject.registered_at)
            ended = subject.dtc(subject.ended_at) if subject.status in ENDED else ""
            treated = subject.reference_start
            if ctx.blinded:
                element = BLINDED_ELEMENT
            else:
                arm = arms.get(subject.pk)
                element = (arm.code, arm.name) if arm is not None else ("", "")
            path = [(SCREENING_ELEMENT, 1, SCREENING, start, treated or ended)]
            if treated:
                path.append((element, 2, TREATMENT, treated, ended))
            for seq, ((code, name), order, epoch, begins, ends) in enumerate(path, start=1):
                yield SE_LAYOUT.row(
                    {
                        "STUDYID": ctx.trial.code,
                        "DOMAIN": "SE",
                        "USUBJID": subject.usubjid,
                        "SESEQ": seq,
                        "ETCD": code,
                        "ELEMENT": name,
                        "TAETORD": order,
                        "EPOCH": epoch,
                        "SESTDTC": begins,
                        "SEENDTC": ends,
                        "SESTDY": subject.dy(dtc_day(begins)),
                        "SEENDY": subject.dy(dtc_day(ends)),
                    }
                )


def _se_count(ctx: ExportContext) -> int:
    return int(subject_ids(ctx).count()) + len(first_infusions(ctx))


Rows = Callable[[ExportContext], Iterator[tuple[object, ...]]]


def _design(
    name: str, label: str, variables: tuple[Variable, ...], rows: Rows, keys: tuple[str, ...]
) -> Dataset:
    """A trial design dataset: a few rows from the protocol, counted by making them."""
    return Dataset(
        name=name,
        label=label,
        variables=variables,
        rows=rows,
        count=lambda ctx: sum(1 for _ in rows(ctx)),
        keys=keys,
    )


TS = _design("TS", "Trial Summary", TS_VARIABLES, _ts_rows, ("TSPARMCD", "TSSEQ"))
TA = _design("TA", "Trial Arms", TA_VARIABLES, _ta_rows, ("ARMCD", "TAETORD"))
TE = _design("TE", "Trial Elements", TE_VARIABLES, _te_rows, ("ETCD",))
TV = _design("TV", "Trial Visits", TV_VARIABLES, _tv_rows, ("VISITNUM",))
TI = _design("TI", "Trial Inclusion/Exclusion Criteria", TI_VARIABLES, _ti_rows, ("IETESTCD",))
SE = Dataset(
    name="SE",
    label="Subject Elements",
    variables=SE_VARIABLES,
    rows=_se_rows,
    count=_se_count,
    keys=("USUBJID", "SESEQ"),
)
