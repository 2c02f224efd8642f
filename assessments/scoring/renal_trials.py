"""Renal response as defined by trials: BLISS-LN and the NCT03917797 registered CR."""

from __future__ import annotations

from decimal import Decimal

from assessments.scoring.base import (
    Calculator,
    NumberLike,
    fmt,
    non_negative,
    positive,
    to_flag,
)
from assessments.scoring.errors import ScoringInputError
from assessments.scoring.renal_common import (
    Reason,
    RenalInputs,
    RenalResponseResult,
    combine,
    compare,
    egfr_at_least_or_kept,
    flag_reason,
    plain,
    require,
    result,
)
from assessments.scoring.renal_guidelines import (
    eular_gfr_ok,
    eular_prr_proteinuria,
    ratio_to_baseline,
)

BLISS_LN = Calculator(name="BLISS-LN renal response", version="1.0")
NCT03917797_CR = Calculator(name="NCT03917797 registered renal response", version="1.1")

_PREDNISONE_LIMIT_MG = Decimal(10)
_TRIAL_B_CR_UPCR_MAX = Decimal("0.5")
_TRIAL_B_CR_EGFR_MIN = Decimal(120)
_TRIAL_B_CR_EGFR_RATIO_MIN = Decimal("0.8")
_TRIAL_B_CR_RBC_MAX_HPF = Decimal(10)
# The eGFR unit the registry gives for CR_B's 120; both are compared as mL/min/1.73 m2.
EGFR_UNITS_REGISTERED = ("ml/min/m2", "ml/min/1.73m2")
# The partial-response fallbacks implemented; the registered PR_B text is not known yet.
PR_RULES = ("eular2019_prr",)


def _treatment_failure(
    inputs: RenalInputs, limit: Decimal, from_week: int
) -> tuple[bool, list[Reason]]:
    """TF := rescue OR prednisone above `limit` at or after `from_week`."""
    week = require(inputs.week, "week", "bliss_ln")
    rescue = flag_reason("rescue or prohibited medication", inputs.rescue)
    in_steroid_period = week >= from_week
    period = Reason(
        f"week >= {from_week}",
        in_steroid_period,
        f"week {week} >= {from_week}: {'yes' if in_steroid_period else 'no'}",
    )
    reasons = [rescue, period]
    steroid_excess = False
    if in_steroid_period:
        dose = require(inputs.prednisone_mg_day, "prednisone_mg_day", "bliss_ln")
        excess = compare("prednisone mg/day", dose, ">", "", limit)
        steroid_excess = excess.held
        reasons.append(excess)
    failed = inputs.rescue or steroid_excess
    definition = f"rescue OR (week >= {from_week} AND prednisone > {fmt(limit)} mg/day)"
    reasons.append(combine("TF", definition, failed))
    return failed, reasons


def bliss_ln(
    inputs: RenalInputs,
    *,
    prednisone_limit_mg: NumberLike = _PREDNISONE_LIMIT_MG,
    steroid_from_week: int = 24,
) -> RenalResponseResult:
    """PERR and CRR against the pre-flare eGFR (Gpf, defaulting to G0), voided by TF.

    The steroid ceiling applies from `steroid_from_week` inclusive ("from week 24").
    """
    limit = non_negative(prednisone_limit_mg, "prednisone_limit_mg")
    if isinstance(steroid_from_week, bool) or not isinstance(steroid_from_week, int):
        raise ScoringInputError("steroid_from_week", "expected a whole number of weeks")
    failed, reasons = _treatment_failure(inputs, limit, steroid_from_week)
    gpf = inputs.pre_flare_egfr
    notes: tuple[str, ...] = ()
    if inputs.gpf is None:
        notes = ("Gpf not recorded; baseline eGFR G0 used",)
    perr_upcr = compare("P1", inputs.p1, "<=", "", Decimal("0.7"))
    perr_kept = compare("G1", inputs.g1, ">=", "0.8*Gpf", Decimal("0.8") * gpf)
    perr_floor = compare("G1", inputs.g1, ">=", "", Decimal(60))
    perr = perr_upcr.held and (perr_kept.held or perr_floor.held) and not failed
    crr_upcr = compare("P1", inputs.p1, "<", "", Decimal("0.5"))
    crr_kept = compare("G1", inputs.g1, ">=", "0.9*Gpf", Decimal("0.9") * gpf)
    crr_floor = compare("G1", inputs.g1, ">=", "", Decimal(90))
    crr = crr_upcr.held and (crr_kept.held or crr_floor.held) and not failed
    reasons += [
        perr_upcr,
        perr_kept,
        perr_floor,
        combine("PERR", "P1 <= 0.7 AND (G1 >= 0.8*Gpf OR G1 >= 60) AND NOT TF", perr),
        crr_upcr,
        crr_kept,
        crr_floor,
        combine("CRR", "P1 < 0.5 AND (G1 >= 0.9*Gpf OR G1 >= 90) AND NOT TF", crr),
    ]
    category = "CRR" if crr else "PERR" if perr else "NR"
    params = {"prednisone_limit_mg": fmt(limit), "steroid_from_week": str(steroid_from_week)}
    flags = {"PERR": perr, "CRR": crr, "TF": failed}
    return result(
        BLISS_LN,
        "bliss_ln",
        category,
        reasons,
        flags,
        params,
        notes=notes,
        treatment_failure=inputs.treatment_failure,
    )


def nct03917797_cr(
    inputs: RenalInputs,
    *,
    prednisone_limit_mg: NumberLike = _PREDNISONE_LIMIT_MG,
    cr_upcr_max: NumberLike = _TRIAL_B_CR_UPCR_MAX,
    cr_egfr_min: NumberLike = _TRIAL_B_CR_EGFR_MIN,
    cr_egfr_ratio_min: NumberLike = _TRIAL_B_CR_EGFR_RATIO_MIN,
    cr_urine_rbc_max: NumberLike = _TRIAL_B_CR_RBC_MAX_HPF,
    cr_rbc_casts_allowed: bool = False,
    cr_egfr_unit_registered: str = "ml/min/m2",
    pr_rule: str = "eular2019_prr",
    pr_provisional: bool = True,
) -> RenalResponseResult:
    """CR_B as registered; PR_B on the EULAR 2019 PRR until the registry text is known.

    Reading (domain.md 2.6, 2.2): the registered CR_B (P1 < 0.5, G1 >= 120 OR G1 >= 0.8*G0,
    RBC < 10/hpf, no RBC casts, prednisone <= 10 mg/day) gains "AND NOT rescue", because
    rescue therapy means non-response in every category (the EULAR trial rule). PR_B, the
    provisional fallback, never asks more than CR_B does:

        proteinuria_PR_B := P1 < 0.5 (CR_B's level) OR (P1 <= 0.5*P0 AND P1 < 3.0)  (PRR)
        kidney_PR_B      := GFR_ok (G1 >= 90 OR G1 >= 0.9*G0) OR kidney_CR_B
        PR_B             := NOT CR_B AND proteinuria_PR_B AND kidney_PR_B AND NOT rescue

    So a participant who misses CR_B only on sediment or steroid dose, with eGFR at 80-89% of
    baseline, is PR_B, not NR; and any eGFR good enough for CR_B is good enough for PR_B.
    EULAR's GFR_ok is kept beside it, so no participant who met the EULAR PRR fallback loses
    PR_B. CR_B's thresholds are the protocol's `cr_upcr_max_g_per_g`, `cr_egfr_min` and
    `cr_egfr_ratio_to_baseline_min`, `cr_urine_rbc_max_per_hpf` and `cr_rbc_casts_allowed`;
    `cr_egfr_unit_registered` names the registered unit of the eGFR threshold (compared as
    mL/min/1.73 m2) and `pr_rule` the fallback (only eular2019_prr). Any category other than
    CR depends on the fallback, so it is flagged provisional while `pr_provisional` is true.
    """
    code = "nct03917797_cr"
    limit = non_negative(prednisone_limit_mg, "prednisone_limit_mg")
    upcr_max = positive(cr_upcr_max, "cr_upcr_max")
    egfr_min = positive(cr_egfr_min, "cr_egfr_min")
    ratio_min = ratio_to_baseline(cr_egfr_ratio_min, "cr_egfr_ratio_min")
    rbc_max = positive(cr_urine_rbc_max, "cr_urine_rbc_max")
    casts_allowed = to_flag(cr_rbc_casts_allowed, "cr_rbc_casts_allowed") is True
    provisional_fallback = to_flag(pr_provisional, "pr_provisional") is True
    if cr_egfr_unit_registered not in EGFR_UNITS_REGISTERED:
        raise ScoringInputError(
            "cr_egfr_unit_registered", f"must be one of {', '.join(EGFR_UNITS_REGISTERED)}"
        )
    if pr_rule not in PR_RULES:
        raise ScoringInputError("pr_rule", f"must be one of {', '.join(PR_RULES)}")
    rbc_hpf = require(inputs.urine_rbc_hpf, "urine_rbc_hpf", code)
    rbc_casts = require(inputs.rbc_casts, "rbc_casts", code)
    dose = require(inputs.prednisone_mg_day, "prednisone_mg_day", code)
    upcr = compare("P1", inputs.p1, "<", "", upcr_max)
    # CR_B's kidney-function criterion: G1 >= 120 OR G1 >= 0.8*G0 as registered.
    cr_kidney, kidney_reasons = egfr_at_least_or_kept(
        inputs, name="kidney_CR_B", egfr_min=egfr_min, ratio_min=ratio_min
    )
    rbc = compare("urine RBC/hpf", rbc_hpf, "<", "", rbc_max)
    no_casts = (
        flag_reason("RBC casts allowed", True)
        if casts_allowed
        else flag_reason("no RBC casts", not rbc_casts)
    )
    steroid = compare("prednisone mg/day", dose, "<=", "", limit)
    rescue = flag_reason("rescue therapy => NR", inputs.rescue)
    cr = (
        upcr.held
        and cr_kidney
        and rbc.held
        and no_casts.held
        and steroid.held
        and not inputs.rescue
    )
    casts_definition = "" if casts_allowed else " AND no RBC casts"
    cr_definition = (
        f"P1 < {plain(upcr_max)} AND kidney_CR_B AND RBC < {plain(rbc_max)}/hpf"
        f"{casts_definition} AND prednisone <= {fmt(limit)} mg/day AND NOT rescue"
    )
    gfr_ok, gfr_reasons = eular_gfr_ok(inputs)
    prr_proteinuria, prr_reasons = eular_prr_proteinuria(inputs)
    pr_proteinuria = upcr.held or prr_proteinuria
    pr_kidney = gfr_ok or cr_kidney
    pr = not cr and pr_proteinuria and pr_kidney and not inputs.rescue
    reasons = [
        upcr,
        *kidney_reasons,
        rbc,
        no_casts,
        steroid,
        rescue,
        combine("CR_B", cr_definition, cr),
        *gfr_reasons,
        *prr_reasons,
        combine(
            "proteinuria_PR_B",
            f"P1 < {plain(upcr_max)} OR (P1 <= 0.5*P0 AND P1 < 3.0)",
            pr_proteinuria,
        ),
        combine("kidney_PR_B", "GFR_ok OR kidney_CR_B", pr_kidney),
        combine(
            "PR_B",
            "NOT CR_B AND proteinuria_PR_B AND kidney_PR_B AND NOT rescue"
            + (" (provisional)" if provisional_fallback else ""),
            pr,
        ),
    ]
    category = "CR" if cr else "PR" if pr else "NR"
    notes: tuple[str, ...] = ()
    if category != "CR" and provisional_fallback:
        notes = (
            "PR_B uses EULAR 2019 PRR, never stricter than CR_B, until the registered PR "
            "definition is confirmed",
        )
    params = {
        "prednisone_limit_mg": fmt(limit),
        "cr_upcr_max": fmt(upcr_max),
        "cr_egfr_min": fmt(egfr_min),
        "cr_egfr_ratio_min": fmt(ratio_min),
        "cr_urine_rbc_max": fmt(rbc_max),
        "cr_rbc_casts_allowed": str(casts_allowed),
        "cr_egfr_unit_registered": cr_egfr_unit_registered,
        "pr_fallback": "eular2019",
        "pr_provisional": str(provisional_fallback),
    }
    flags = {
        "CR": cr,
        "PR": pr,
        "GR": cr or pr,
        "CR_kidney": cr_kidney,
        "PR_kidney": pr_kidney,
    }
    return result(
        NCT03917797_CR,
        code,
        category,
        reasons,
        flags,
        params,
        provisional=category != "CR" and provisional_fallback,
        notes=notes,
        treatment_failure=inputs.treatment_failure,
    )
