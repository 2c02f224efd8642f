"""Renal response as defined by trials: BLISS-LN and the NCT03917797 registered CR."""

from __future__ import annotations

from decimal import Decimal

from assessments.scoring.base import Calculator, NumberLike, fmt, non_negative
from assessments.scoring.errors import ScoringInputError
from assessments.scoring.renal_common import (
    Reason,
    RenalInputs,
    RenalResponseResult,
    combine,
    compare,
    flag_reason,
    require,
    result,
)
from assessments.scoring.renal_guidelines import eular_gfr_ok, eular_prr

BLISS_LN = Calculator(name="BLISS-LN renal response", version="1.0")
NCT03917797_CR = Calculator(name="NCT03917797 registered renal response", version="1.0")

_PREDNISONE_LIMIT_MG = Decimal(10)


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
    return result(BLISS_LN, "bliss_ln", category, reasons, flags, params, notes=notes)


def _trial_b_cr(inputs: RenalInputs, limit: Decimal) -> tuple[bool, list[Reason]]:
    code = "nct03917797_cr"
    rbc_hpf = require(inputs.urine_rbc_hpf, "urine_rbc_hpf", code)
    rbc_casts = require(inputs.rbc_casts, "rbc_casts", code)
    dose = require(inputs.prednisone_mg_day, "prednisone_mg_day", code)
    upcr = compare("P1", inputs.p1, "<", "", Decimal("0.5"))
    high = compare("G1", inputs.g1, ">=", "", Decimal(120))
    kept = compare("G1", inputs.g1, ">=", "0.8*G0", Decimal("0.8") * inputs.g0)
    rbc = compare("urine RBC/hpf", rbc_hpf, "<", "", Decimal(10))
    no_casts = flag_reason("no RBC casts", not rbc_casts)
    steroid = compare("prednisone mg/day", dose, "<=", "", limit)
    held = upcr.held and (high.held or kept.held) and rbc.held and no_casts.held and steroid.held
    definition = (
        f"P1 < 0.5 AND (G1 >= 120 OR G1 >= 0.8*G0) AND RBC < 10/hpf AND no RBC casts "
        f"AND prednisone <= {fmt(limit)} mg/day"
    )
    return held, [upcr, high, kept, rbc, no_casts, steroid, combine("CR_B", definition, held)]


def nct03917797_cr(
    inputs: RenalInputs, *, prednisone_limit_mg: NumberLike = _PREDNISONE_LIMIT_MG
) -> RenalResponseResult:
    """CR_B as registered; PR_B falls back to EULAR 2019 PRR until the registry text is known.

    Any category other than CR depends on that fallback, so it is flagged provisional.
    """
    limit = non_negative(prednisone_limit_mg, "prednisone_limit_mg")
    cr, reasons = _trial_b_cr(inputs, limit)
    gfr_ok, gfr_reasons = eular_gfr_ok(inputs)
    prr_met, prr_reasons = eular_prr(inputs, gfr_ok)
    # EULAR counts rescue as NR; the fallback keeps that trial rule.
    pr = not cr and prr_met and not inputs.rescue
    reasons += [
        *gfr_reasons,
        *prr_reasons,
        flag_reason("rescue therapy => not PR_B", inputs.rescue),
        combine("PR_B", "NOT CR_B AND EULAR 2019 PRR (provisional)", pr),
    ]
    category = "CR" if cr else "PR" if pr else "NR"
    notes: tuple[str, ...] = ()
    if category != "CR":
        notes = ("PR_B uses EULAR 2019 PRR until the registered PR definition is confirmed",)
    params = {"prednisone_limit_mg": fmt(limit), "pr_fallback": "eular2019"}
    flags = {"CR": cr, "PR": pr, "GR": cr or pr}
    return result(
        NCT03917797_CR,
        "nct03917797_cr",
        category,
        reasons,
        flags,
        params,
        provisional=category != "CR",
        notes=notes,
    )
