"""Renal response by guideline: EULAR/ERA-EDTA 2019, KDIGO 2021/2024 and ACR 2006."""

from __future__ import annotations

from decimal import Decimal

from assessments.scoring.base import Calculator, NumberLike, fmt, positive, to_decimal, to_flag
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

EULAR_2019 = Calculator(name="EULAR/ERA-EDTA 2019 renal response", version="1.0")
KDIGO_2021 = Calculator(name="KDIGO 2021/2024 lupus nephritis response", version="1.0")
ACR_2006 = Calculator(name="ACR 2006 renal response", version="1.1")

_HALF = Decimal("0.5")
_NEPHROTIC_G_PER_G = Decimal("3.0")
GFR_OK_EGFR_MIN = Decimal(90)
GFR_OK_RATIO_MIN = Decimal("0.9")


def _bounded(value: NumberLike, name: str, low: str, high: str) -> Decimal:
    number = to_decimal(value, name)
    if not Decimal(low) <= number <= Decimal(high):
        raise ScoringInputError(name, f"must lie between {low} and {high}, got {number}")
    return number


def ratio_to_baseline(value: NumberLike, name: str) -> Decimal:
    """A follow-up/baseline eGFR ratio taken as a parameter: more than 0, at most 1."""
    number = _bounded(value, name, "0", "1")
    if number == 0:
        raise ScoringInputError(name, "must be greater than 0")
    return number


def eular_gfr_ok(
    inputs: RenalInputs,
    *,
    egfr_min: Decimal = GFR_OK_EGFR_MIN,
    ratio_min: Decimal = GFR_OK_RATIO_MIN,
) -> tuple[bool, list[Reason]]:
    """GFR_ok := G1 >= 90 OR G1 >= 0.9*G0 (by default), with the comparisons that decided it."""
    return egfr_at_least_or_kept(inputs, name="GFR_ok", egfr_min=egfr_min, ratio_min=ratio_min)


def eular_prr_proteinuria(
    inputs: RenalInputs,
    *,
    reduction_min: Decimal = _HALF,
    upcr_max: Decimal = _NEPHROTIC_G_PER_G,
) -> tuple[bool, list[Reason]]:
    """The proteinuria part of PRR: a fall of at least 50% (`reduction_min`) to sub-nephrotic
    levels (below `upcr_max`, 3.0 g/g)."""
    remaining = 1 - reduction_min
    halved = compare("P1", inputs.p1, "<=", f"{fmt(remaining)}*P0", remaining * inputs.p0)
    sub_nephrotic = compare("P1", inputs.p1, "<", "", upcr_max)
    return halved.held and sub_nephrotic.held, [halved, sub_nephrotic]


def prr_proteinuria_definition(reduction_min: Decimal, upcr_max: Decimal) -> str:
    return f"P1 <= {fmt(1 - reduction_min)}*P0 AND P1 < {fmt(upcr_max)}"


def eular2019(
    inputs: RenalInputs,
    *,
    t_cr: NumberLike = "0.5",
    rescue_is_failure: bool = True,
    gfr_ok_egfr_min: NumberLike = GFR_OK_EGFR_MIN,
    gfr_ok_ratio_min: NumberLike = GFR_OK_RATIO_MIN,
    prr_reduction_min: NumberLike = _HALF,
    prr_upcr_max: NumberLike = _NEPHROTIC_G_PER_G,
) -> RenalResponseResult:
    """CRR / PRR / NR; T_CR is 0.5 g/g by default and may be raised up to 0.7.

    GFR_ok's thresholds (90 and 0.9*G0 by default) are the protocol's `gfr_ok_egfr_min` and
    `gfr_ok_ratio_to_baseline_min`; PRR's fall (50%) and ceiling (3.0 g/g) are its
    `prr_upcr_reduction_min` and `prr_upcr_max_g_per_g`.
    """
    threshold = _bounded(t_cr, "t_cr", "0.5", "0.7")
    to_flag(rescue_is_failure, "rescue_is_failure")
    egfr_min = positive(gfr_ok_egfr_min, "gfr_ok_egfr_min")
    ratio_min = ratio_to_baseline(gfr_ok_ratio_min, "gfr_ok_ratio_min")
    reduction = _bounded(prr_reduction_min, "prr_reduction_min", "0", "1")
    upcr_max = positive(prr_upcr_max, "prr_upcr_max")
    gfr_ok, reasons = eular_gfr_ok(inputs, egfr_min=egfr_min, ratio_min=ratio_min)
    low = compare("P1", inputs.p1, "<", "T_CR", threshold)
    crr = low.held and gfr_ok
    proteinuria_met, prr_reasons = eular_prr_proteinuria(
        inputs, reduction_min=reduction, upcr_max=upcr_max
    )
    prr = not crr and proteinuria_met and gfr_ok
    # Trial rule: rescue therapy makes the participant a non-responder whatever the numbers.
    failed = inputs.rescue and rescue_is_failure
    reasons += [
        low,
        combine("CRR", "P1 < T_CR AND GFR_ok", crr),
        *prr_reasons,
        combine(
            "PRR",
            f"NOT CRR AND {prr_proteinuria_definition(reduction, upcr_max)} AND GFR_ok",
            prr,
        ),
        flag_reason(
            "rescue therapy => NR" if rescue_is_failure else "rescue therapy (ignored)",
            inputs.rescue,
        ),
    ]
    category = "NR" if failed else "CRR" if crr else "PRR" if prr else "NR"
    flags = {"CRR": category == "CRR", "PRR": category == "PRR", "GFR_ok": gfr_ok}
    params = {
        "t_cr": fmt(threshold),
        "rescue_is_failure": str(rescue_is_failure),
        "gfr_ok_egfr_min": fmt(egfr_min),
        "gfr_ok_ratio_min": fmt(ratio_min),
        "prr_reduction_min": fmt(reduction),
        "prr_upcr_max": fmt(upcr_max),
    }
    return result(
        EULAR_2019,
        "eular2019",
        category,
        reasons,
        flags,
        params,
        treatment_failure=inputs.treatment_failure,
    )


def _kdigo_stable(inputs: RenalInputs, tol: Decimal, basis: str) -> Reason:
    if basis == "egfr":
        return compare("G1", inputs.g1, ">=", f"(1-{fmt(tol)})*G0", (1 - tol) * inputs.g0)
    if basis == "creatinine":
        scr0 = require(inputs.scr0_mg_dl, "scr0_mg_dl", "kdigo2021")
        scr1 = require(inputs.scr1_mg_dl, "scr1_mg_dl", "kdigo2021")
        return compare("SCr1", scr1, "<=", f"(1+{fmt(tol)})*SCr0", (1 + tol) * scr0)
    raise ScoringInputError("basis", f"must be 'egfr' or 'creatinine', got {basis!r}")


def kdigo2021(
    inputs: RenalInputs, *, tol: NumberLike = "0.15", basis: str = "egfr"
) -> RenalResponseResult:
    """CR / PR / NR with kidney function stable within `tol` (0.10 to 0.15)."""
    tolerance = _bounded(tol, "tol", "0.10", "0.15")
    stable = _kdigo_stable(inputs, tolerance, basis)
    low = compare("P1", inputs.p1, "<", "", _HALF)
    cr = low.held and stable.held
    halved = compare("P1", inputs.p1, "<=", "0.5*P0", _HALF * inputs.p0)
    sub_nephrotic = compare("P1", inputs.p1, "<", "", _NEPHROTIC_G_PER_G)
    pr = not cr and halved.held and sub_nephrotic.held and stable.held
    reasons = [
        stable,
        combine("stable", stable.condition, stable.held),
        low,
        combine("CR", "P1 < 0.5 AND stable", cr),
        halved,
        sub_nephrotic,
        combine("PR", "NOT CR AND P1 <= 0.5*P0 AND P1 < 3.0 AND stable", pr),
    ]
    category = "CR" if cr else "PR" if pr else "NR"
    flags = {"CR": cr, "PR": pr, "stable": stable.held}
    params = {"tol": fmt(tolerance), "basis": basis}
    return result(
        KDIGO_2021,
        "kdigo2021",
        category,
        reasons,
        flags,
        params,
        treatment_failure=inputs.treatment_failure,
    )


def _inactive_sediment(inputs: RenalInputs) -> tuple[bool, list[Reason]]:
    rbc_hpf = require(inputs.urine_rbc_hpf, "urine_rbc_hpf", "acr2006")
    wbc_hpf = require(inputs.urine_wbc_hpf, "urine_wbc_hpf", "acr2006")
    casts = require(inputs.any_cellular_casts, "cellular_casts", "acr2006")
    rbc = compare("urine RBC/hpf", rbc_hpf, "<", "", Decimal(5))
    wbc = compare("urine WBC/hpf", wbc_hpf, "<", "", Decimal(5))
    no_casts = flag_reason("no cellular casts", not casts)
    held = rbc.held and wbc.held and no_casts.held
    definition = "RBC < 5/hpf AND WBC < 5/hpf AND no cellular casts"
    return held, [rbc, wbc, no_casts, combine("inactive_sediment", definition, held)]


def acr2006(
    inputs: RenalInputs,
    *,
    egfr_normal: NumberLike = 90,
    stable_tol: NumberLike = "0.10",
    improvement: NumberLike = "0.25",
    upcr_improvement: NumberLike = "0.5",
) -> RenalResponseResult:
    """CR / PR / NR after the ACR 2006 response criteria as summarised secondarily.

    "Normal serum creatinine" is read as G1 >= `egfr_normal`; "eGFR at baseline" as G1 within
    `stable_tol` of G0; an abnormal eGFR must improve by `improvement` (25%).

    A partial response is an improvement of the abnormal measures without worsening of any
    (domain.md section 2.5): proteinuria must fall by `upcr_improvement` (50%), P1 <=
    (1 - 0.5)*P0, and end in the partial band P1 <= 2.0, or reach the complete-response level
    P1 < 0.2, which a lower proteinuria always satisfies; kidney function must meet the
    complete-response criterion or, normal at baseline, stay within `stable_tol`; the sediment
    must be inactive. A UPCR that rose or merely held (1.5 -> 1.9 g/g) is no partial response.
    The band has no floor at 0.2, because a floor would make a lower proteinuria yield a
    worse category.
    """
    normal = to_decimal(egfr_normal, "egfr_normal")
    tol = _bounded(stable_tol, "stable_tol", "0", "0.5")
    gain = _bounded(improvement, "improvement", "0", "1")
    upcr_gain = _bounded(upcr_improvement, "upcr_improvement", "0", "1")
    sediment_ok, reasons = _inactive_sediment(inputs)
    g1_normal = compare("G1", inputs.g1, ">=", "normal", normal)
    g0_abnormal = compare("G0", inputs.g0, "<", "normal", normal)
    improved = compare("G1", inputs.g1, ">=", f"(1+{fmt(gain)})*G0", (1 + gain) * inputs.g0)
    kept = compare("G1", inputs.g1, ">=", f"(1-{fmt(tol)})*G0", (1 - tol) * inputs.g0)
    renal_cr = g1_normal.held or (g0_abnormal.held and improved.held)
    renal_pr = renal_cr or (not g0_abnormal.held and kept.held)
    reasons += [
        g1_normal,
        g0_abnormal,
        improved,
        kept,
        combine("renal_CR", "G1 normal OR (G0 abnormal AND improved)", renal_cr),
        combine("renal_PR", "renal_CR OR (G0 normal AND G1 kept)", renal_pr),
    ]
    upcr_cr = compare("P1", inputs.p1, "<", "", Decimal("0.2"))
    cr = upcr_cr.held and renal_cr and sediment_ok
    remaining = 1 - upcr_gain
    upcr_improved = compare("P1", inputs.p1, "<=", f"{plain(remaining)}*P0", remaining * inputs.p0)
    upcr_band = compare("P1", inputs.p1, "<=", "", Decimal("2.0"))
    proteinuria_pr = upcr_cr.held or (upcr_improved.held and upcr_band.held)
    pr = not cr and proteinuria_pr and renal_pr and sediment_ok
    proteinuria_definition = f"P1 < 0.2 OR (P1 <= {plain(remaining)}*P0 AND P1 <= 2.0)"
    reasons += [
        upcr_cr,
        combine("CR", "P1 < 0.2 AND renal_CR AND inactive_sediment", cr),
        upcr_improved,
        upcr_band,
        combine("proteinuria_PR", proteinuria_definition, proteinuria_pr),
        combine("PR", "NOT CR AND proteinuria_PR AND renal_PR AND inactive_sediment", pr),
    ]
    category = "CR" if cr else "PR" if pr else "NR"
    params = {
        "egfr_normal": fmt(normal),
        "stable_tol": fmt(tol),
        "improvement": fmt(gain),
        "upcr_improvement": fmt(upcr_gain),
    }
    flags = {"CR": cr, "PR": pr, "inactive_sediment": sediment_ok}
    return result(
        ACR_2006,
        "acr2006",
        category,
        reasons,
        flags,
        params,
        treatment_failure=inputs.treatment_failure,
    )
