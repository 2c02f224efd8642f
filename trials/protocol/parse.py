"""Load, validate and build a ProtocolDefinition from YAML text or a file."""

from __future__ import annotations

import copy
import hashlib
import json
import os
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from .errors import ProtocolError, ProtocolIssue
from .loader import join_path, line_for, load_yaml
from .model import (
    DEFAULT_DONOR_CODE_PATTERN,
    Arm,
    Blinding,
    Cohort,
    Criterion,
    CriterionSource,
    DoseLimitingToxicity,
    Dosing,
    Eligibility,
    FrozenMap,
    Identifiers,
    Indication,
    MedicationLookback,
    Parameter,
    ProtocolDefinition,
    Randomization,
    Rescue,
    Response,
    SdvFormPlan,
    Site,
    Stage,
    StratificationFactor,
    TreatmentFailure,
    Visit,
    freeze,
)
from .schema import PROTOCOL_SCHEMA
from .semantic import semantic_issues

_VALIDATOR = Draft202012Validator(PROTOCOL_SCHEMA)


def canonical_checksum(data: Any) -> str:
    """SHA-256 of the data as canonical JSON: key order and YAML layout do not matter."""
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _path_of(parts: Any) -> str:
    path = ""
    for part in parts:
        path = join_path(path, part)
    return path


def _schema_issues(error: ValidationError, lines: dict[str, int]) -> list[ProtocolIssue]:
    path = _path_of(error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        # Point at each unknown key itself rather than at the mapping that holds it.
        known = error.schema.get("properties", {})
        allowed = ", ".join(sorted(known))
        return [
            ProtocolIssue(
                join_path(path, key),
                line_for(lines, join_path(path, key)),
                f"unknown key {key!r} (allowed: {allowed})",
            )
            for key in error.instance
            if key not in known
        ]
    message = error.message
    if error.validator == "required":
        message = message.replace("is a required property", "is required but missing")
    elif (
        error.validator == "type"
        and isinstance(error.instance, int | float | bool)
        and "string" in str(error.validator_value)
    ):
        message += " (quote the value in YAML)"
    return [ProtocolIssue(path, line_for(lines, path), message)]


def _sorted(issues: list[ProtocolIssue]) -> list[ProtocolIssue]:
    return sorted(issues, key=lambda issue: (issue.line or 0, issue.path, issue.message))


def validate_protocol_text(text: str) -> tuple[dict[str, Any], list[ProtocolIssue]]:
    """Return the parsed data and every problem found (schema problems, then semantic ones)."""
    loaded = load_yaml(text)
    if loaded.issues:
        return {}, _sorted(loaded.issues)
    data: dict[str, Any] = loaded.data
    issues = [
        issue
        for error in _VALIDATOR.iter_errors(data)
        for issue in _schema_issues(error, loaded.lines)
    ]
    if issues:
        # Semantic checks assume a well-typed document, so they wait for a clean schema pass.
        return data, _sorted(issues)
    return data, semantic_issues(data, loaded.lines)


def parse_protocol_text(text: str, *, source: str = "<string>") -> ProtocolDefinition:
    """Parse and validate YAML text; raise ProtocolError listing every problem."""
    data, issues = validate_protocol_text(text)
    if issues:
        raise ProtocolError(source, issues)
    return build_definition(data, source=source)


def parse_protocol_file(path: str | os.PathLike[str]) -> ProtocolDefinition:
    """Read a UTF-8 protocol file and parse it; OSError propagates unchanged."""
    source = os.fspath(path)
    with open(source, "rb") as handle:
        content = handle.read()
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = content.count(b"\n", 0, exc.start) + 1
        raise ProtocolError(source, [ProtocolIssue("", line, "the file is not UTF-8")]) from exc
    return parse_protocol_text(text, source=source)


def _opt(mapping: dict[str, Any], key: str) -> Any:
    return mapping.get(key)


def _source(s: dict[str, Any], parameters: dict[str, Any]) -> CriterionSource:
    parameter = _opt(s, "parameter")
    value = parameters[parameter]["value"] if parameter is not None else s["value"]
    return CriterionSource(
        form=s["form"],
        field=s["field"],
        visit=s["visit"],
        op=s["op"],
        value=tuple(value) if isinstance(value, list) else value,
        unit=s.get("unit", ""),
        mode=s.get("mode", "decides"),
        parameter=parameter,
        assumption=_opt(s, "assumption"),
    )


def _lookback(lb: dict[str, Any], parameters: dict[str, Any]) -> MedicationLookback:
    parameter = _opt(lb, "parameter")
    months = parameters[parameter]["value"] if parameter is not None else lb["months"]
    return MedicationLookback(
        months=int(months),
        drugs=tuple(lb.get("drugs", ())),
        categories=tuple(lb.get("categories", ())),
        routes=tuple(lb.get("routes", ())),
        started=bool(lb.get("started", False)),
        parameter=parameter,
        assumption=_opt(lb, "assumption"),
    )


def _criteria(items: list[dict[str, Any]], parameters: dict[str, Any]) -> tuple[Criterion, ...]:
    return tuple(
        Criterion(
            number=c["number"],
            code=c["code"],
            text=c["text"],
            group=_opt(c, "group"),
            sources=tuple(_source(s, parameters) for s in c.get("sources", ())),
            lookbacks=tuple(_lookback(lb, parameters) for lb in c.get("lookbacks", ())),
            reconfirm_at=_opt(c, "reconfirm_at"),
        )
        for c in items
    )


def _stage(order: int, s: dict[str, Any]) -> Stage:
    cohorts = tuple(
        Cohort(
            code=c["code"],
            name=c["name"],
            dose_cells_per_kg=float(c["dose_cells_per_kg"]),
            planned_n=c["planned_n"],
            order=index,
            assumption=_opt(c, "assumption"),
        )
        for index, c in enumerate(s.get("cohorts", []), start=1)
    )
    return Stage(
        code=s["code"],
        name=s["name"],
        kind=s["kind"],
        blinded=s["blinded"],
        order=order,
        arms=tuple(s["arms"]),
        cohorts=cohorts,
        planned_n=_opt(s, "planned_n"),
        description=_opt(s, "description"),
        assumption=_opt(s, "assumption"),
        dlt=_dlt(s.get("dlt")),
    )


def _dlt(d: dict[str, Any] | None) -> DoseLimitingToxicity | None:
    if d is None:
        return None
    return DoseLimitingToxicity(
        min_grade=d["min_grade"],
        related_only=d["related_only"],
        window_days=d["window_days"],
        events=tuple(d.get("events", ())),
        assumption=_opt(d, "assumption"),
    )


def _visit(order: int, v: dict[str, Any]) -> Visit:
    return Visit(
        code=v["code"],
        name=v["name"],
        kind=v["kind"],
        day=v["day"],
        window_before=v["window_before"],
        window_after=v["window_after"],
        dosing=v.get("dosing", False),
        primary_endpoint=v.get("primary_endpoint", False),
        optional=v.get("optional", False),
        forms=tuple(v["forms"]),
        assumption=_opt(v, "assumption"),
        order=order,
    )


def _limits(values: list[float]) -> tuple[float, float]:
    return float(values[0]), float(values[1])


def build_definition(data: dict[str, Any], *, source: str) -> ProtocolDefinition:
    """Build the typed definition from data that passed schema and semantic checks."""
    visits = tuple(_visit(i, v) for i, v in enumerate(data["visits"], start=1))
    return ProtocolDefinition(
        format=data["format"],
        code=data["code"],
        version=data["version"],
        title=data["title"],
        short_title=data["short_title"],
        identifiers=_identifiers(data["identifiers"]),
        phase=data["phase"],
        masking=data["masking"],
        masked_parties=tuple(data["masked_parties"]),
        planned_enrollment=data["planned_enrollment"],
        sponsor=data["sponsor"],
        arms=tuple(_arm(a) for a in data["arms"]),
        stages=tuple(_stage(i, s) for i, s in enumerate(data["stages"], start=1)),
        randomization=_randomization(data.get("randomization")),
        sites=tuple(_site(s) for s in data["sites"]),
        visits=visits,
        eligibility=_eligibility(data["eligibility"], data.get("parameters", {})),
        stratification_factors=tuple(
            _stratification_factor(f) for f in data.get("stratification_factors", [])
        ),
        response=_response(data["response"]),
        dosing=_dosing(data["dosing"], visits),
        blinding=Blinding(
            allocation_revealing=freeze(data["blinding"]["allocation_revealing"]),
            assumption=_opt(data["blinding"], "assumption"),
        ),
        forms=tuple(data["forms"]),
        assumptions=tuple(data.get("assumptions", [])),
        parameters=FrozenMap(
            {name: _parameter(name, p) for name, p in data.get("parameters", {}).items()}
        ),
        masking_note=_opt(data, "masking_note"),
        indication=_indication(data.get("indication")),
        primary_purpose=_opt(data, "primary_purpose"),
        trial_types=tuple(data.get("trial_types", ())),
        translations=freeze(data.get("translations", {})),
        sdv_plan=_sdv_plan(data.get("sdv_plan")),
        source=source,
        checksum=canonical_checksum(data),
        # A private copy, so a caller editing raw cannot drift from the checksum silently.
        raw=copy.deepcopy(data),
    )


def _sdv_plan(plan: dict[str, Any] | None) -> FrozenMap[SdvFormPlan] | None:
    if plan is None:
        return None
    return FrozenMap(
        {
            code: SdvFormPlan(
                critical=tuple(entry.get("critical", ())),
                level=entry["level"],
                percent=int(entry.get("percent", 100)),
            )
            for code, entry in plan.items()
        }
    )


def _indication(indication: dict[str, Any] | None) -> Indication | None:
    if indication is None:
        return None
    return Indication(
        text=indication["text"],
        code=_opt(indication, "code"),
        code_system=_opt(indication, "code_system"),
    )


def _identifiers(ids: dict[str, Any]) -> Identifiers:
    return Identifiers(
        nct=ids["nct"],
        eudract=_opt(ids, "eudract"),
        sponsor_code=_opt(ids, "sponsor_code"),
        others=FrozenMap(ids.get("others", {})),
    )


def _arm(a: dict[str, Any]) -> Arm:
    return Arm(
        code=a["code"],
        name=a["name"],
        type=a["type"],
        ratio=a["ratio"],
        description=a["description"],
        product=a["product"],
        assumption=_opt(a, "assumption"),
    )


def _randomization(rand: dict[str, Any] | None) -> Randomization | None:
    if rand is None:
        return None
    return Randomization(
        block_sizes=tuple(rand["block_sizes"]),
        strata=tuple(rand["strata"]),
        assumption=_opt(rand, "assumption"),
    )


def _site(s: dict[str, Any]) -> Site:
    return Site(
        code=s["code"],
        name=s["name"],
        city=s["city"],
        country=s["country"],
        time_zone=s["time_zone"],
        assumption=_opt(s, "assumption"),
    )


def _eligibility(elig: dict[str, Any], parameters: dict[str, Any]) -> Eligibility:
    return Eligibility(
        inclusion=_criteria(elig["inclusion"], parameters),
        exclusion=_criteria(elig["exclusion"], parameters),
        min_age_years=_opt(elig, "min_age_years"),
        max_age_years=_opt(elig, "max_age_years"),
        sex=elig.get("sex", "all"),
        accepts_healthy_volunteers=elig.get("accepts_healthy_volunteers", False),
    )


def _stratification_factor(f: dict[str, Any]) -> StratificationFactor:
    return StratificationFactor(
        code=f["code"],
        name=f["name"],
        source=f["source"],
        levels=tuple(f["levels"]),
        field=_opt(f, "field"),
        assumption=_opt(f, "assumption"),
    )


def _response(resp: dict[str, Any]) -> Response:
    return Response(
        rule_set=resp["rule_set"],
        params=freeze(resp.get("params", {})),
        primary_visit=resp["primary_visit"],
        timepoint_label=resp["timepoint_label"],
        secondary_rule_sets=tuple(resp.get("secondary_rule_sets", [])),
        assumption=_opt(resp, "assumption"),
        rescue=_rescue(resp.get("rescue")),
        treatment_failure=_treatment_failure(resp.get("treatment_failure")),
    )


def _treatment_failure(failure: dict[str, Any] | None) -> TreatmentFailure | None:
    if failure is None:
        return None
    return TreatmentFailure(
        events=tuple(failure["events"]),
        dialysis_min_days=failure["dialysis_min_days"],
        doubling_confirm_weeks=failure["creatinine_doubling_confirm_weeks"],
        assumption=_opt(failure, "assumption"),
    )


def _rescue(rescue: dict[str, Any] | None) -> Rescue | None:
    if rescue is None:
        return None
    return Rescue(
        drugs=tuple(rescue["drugs"]),
        start_after=rescue["from"],
        assumption=_opt(rescue, "assumption"),
    )


def _dosing(dose: dict[str, Any], visits: tuple[Visit, ...]) -> Dosing:
    cells = dose["cells_per_kg"]
    return Dosing(
        rule=dose["rule"],
        cells_per_kg=None if cells is None else float(cells),
        volume_ml=float(dose["volume_ml"]),
        tolerance_pct=float(dose["tolerance_pct"]),
        weight_hard_limits_kg=_limits(dose["weight_hard_limits_kg"]),
        weight_soft_limits_kg=_limits(dose["weight_soft_limits_kg"]),
        visit_codes=tuple(v.code for v in visits if v.dosing),
        assumption=_opt(dose, "assumption"),
        viability_min_pct=_opt(dose, "viability_min_pct"),
        pregnancy_test_within_hours=_opt(dose, "pregnancy_test_within_hours"),
        volume_tolerance_pct=_opt(dose, "volume_tolerance_pct"),
        endotoxin_max_eu_per_ml=_opt(dose, "endotoxin_max_eu_per_ml"),
        sterility_negative_required=dose.get("sterility_negative_required", False),
        mycoplasma_negative_required=dose.get("mycoplasma_negative_required", False),
        max_minutes_thaw_to_infusion=_opt(dose, "max_minutes_thaw_to_infusion"),
        donor_code_pattern=dose.get("donor_code_pattern", DEFAULT_DONOR_CODE_PATTERN),
    )


def _parameter(name: str, p: dict[str, Any]) -> Parameter:
    return Parameter(
        name=name,
        value=p["value"],
        unit=_opt(p, "unit"),
        note=_opt(p, "note"),
        assumption=_opt(p, "assumption"),
    )
