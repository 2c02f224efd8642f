"""Propose lab-driven and count-driven SLEDAI-2K items from raw values; never score them."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from assessments.scoring.base import (
    Calculator,
    NumberLike,
    non_negative,
    to_count,
    to_decimal,
)
from assessments.scoring.errors import ScoringInputError
from assessments.scoring.sledai import DescriptorInput
from assessments.scoring.sledai_descriptors import DESCRIPTORS_BY_CODE
from assessments.scoring.units import UpcrValue

SLEDAI_2K_PROPOSALS = Calculator(name="SLEDAI-2K item proposals", version="1.0")

ArthritisRule = Literal[">=2", ">2"]
ProteinSpecimen = Literal["24h urine", "spot UPCR"]

PROTEINURIA_G = Decimal("0.5")
URINE_CELLS_PER_HPF = Decimal(5)
PLATELETS_1E9_L = Decimal(100)
WBC_1E9_L = Decimal(3)
FEVER_C = Decimal("38.0")


@dataclass(frozen=True, slots=True)
class Proposal:
    """A suggestion that a descriptor is present, with the comparison that produced it.

    `needs_attribution` is True for descriptors with an exclusion clause: such a proposal does
    not score until the investigator sets "attributable to SLE" explicitly.
    """

    calculator: str
    version: str
    code: str
    present: bool
    needs_attribution: bool
    basis: str
    specimen: str | None = None

    def to_input(
        self, *, attributable_to_sle: bool | None = None, days_before_visit: int | None = None
    ) -> DescriptorInput:
        """Turn the proposal into a scoring input once the investigator has reviewed it."""
        if not self.needs_attribution and attributable_to_sle is not None:
            raise ScoringInputError(
                f"{self.code}.attributable_to_sle", f"{self.code} has no exclusion clause"
            )
        return DescriptorInput(self.code, self.present, attributable_to_sle, days_before_visit)


def _proposal(code: str, present: bool, basis: str, specimen: str | None = None) -> Proposal:
    return Proposal(
        calculator=SLEDAI_2K_PROPOSALS.name,
        version=SLEDAI_2K_PROPOSALS.version,
        code=code,
        present=present,
        needs_attribution=DESCRIPTORS_BY_CODE[code].has_exclusion,
        basis=f"{basis}: {'yes' if present else 'no'}",
        specimen=specimen,
    )


def propose_proteinuria(value: NumberLike, *, specimen: ProteinSpecimen = "24h urine") -> Proposal:
    """PROT: protein strictly above 0.5 (g/24 h, or g/g when a spot UPCR stands in)."""
    if specimen not in ("24h urine", "spot UPCR"):
        raise ScoringInputError("specimen", f"unknown specimen {specimen!r}")
    amount = non_negative(value, "proteinuria")
    unit = "g/24h" if specimen == "24h urine" else "g/g"
    return _proposal("PROT", amount > PROTEINURIA_G, f"proteinuria {amount} {unit} > 0.5", specimen)


def propose_proteinuria_from_upcr(upcr: UpcrValue) -> Proposal:
    """PROT from a spot UPCR already converted to g/g; the original unit stays on `upcr`."""
    return propose_proteinuria(upcr.g_per_g, specimen="spot UPCR")


def propose_haematuria(rbc_per_hpf: NumberLike) -> Proposal:
    """HEMAT: strictly more than 5 RBC per high-power field."""
    count = non_negative(rbc_per_hpf, "urine_rbc_hpf")
    return _proposal("HEMAT", count > URINE_CELLS_PER_HPF, f"urine RBC {count}/hpf > 5")


def propose_pyuria(wbc_per_hpf: NumberLike) -> Proposal:
    """PYUR: strictly more than 5 WBC per high-power field."""
    count = non_negative(wbc_per_hpf, "urine_wbc_hpf")
    return _proposal("PYUR", count > URINE_CELLS_PER_HPF, f"urine WBC {count}/hpf > 5")


def propose_thrombocytopenia(platelets_1e9_per_l: NumberLike) -> Proposal:
    """THROMB: platelets strictly below 100 x 10^9/L."""
    count = non_negative(platelets_1e9_per_l, "platelets")
    return _proposal("THROMB", count < PLATELETS_1E9_L, f"platelets {count} x10^9/L < 100")


def propose_leukopenia(wbc_1e9_per_l: NumberLike) -> Proposal:
    """LEUK: white cells strictly below 3 x 10^9/L."""
    count = non_negative(wbc_1e9_per_l, "wbc")
    return _proposal("LEUK", count < WBC_1E9_L, f"WBC {count} x10^9/L < 3")


def propose_fever(temperature_c: NumberLike) -> Proposal:
    """FEVER: temperature strictly above 38.0 degrees C."""
    temperature = to_decimal(temperature_c, "temperature_c")
    return _proposal("FEVER", temperature > FEVER_C, f"temperature {temperature} C > 38.0")


def propose_anti_dsdna(value: NumberLike, upper_limit_normal: NumberLike) -> Proposal:
    """DNA: anti-dsDNA strictly above the reporting lab's upper limit of normal."""
    level = non_negative(value, "anti_dsdna")
    uln = non_negative(upper_limit_normal, "anti_dsdna_uln")
    return _proposal("DNA", level > uln, f"anti-dsDNA {level} > ULN {uln}")


def propose_low_complement(
    *,
    c3: NumberLike | None = None,
    c3_lln: NumberLike | None = None,
    c4: NumberLike | None = None,
    c4_lln: NumberLike | None = None,
    ch50: NumberLike | None = None,
    ch50_lln: NumberLike | None = None,
) -> Proposal:
    """LOWCOMP: any of CH50, C3 or C4 strictly below its own lab's lower limit of normal."""
    pairs = (("c3", c3, c3_lln), ("c4", c4, c4_lln), ("ch50", ch50, ch50_lln))
    comparisons: list[str] = []
    low = False
    for name, value, lln in pairs:
        if value is None and lln is None:
            continue
        if value is None or lln is None:
            missing = name if value is None else f"{name}_lln"
            raise ScoringInputError(missing, "a complement result needs both value and LLN")
        level = non_negative(value, name)
        limit = non_negative(lln, f"{name}_lln")
        low = low or level < limit
        comparisons.append(f"{name.upper()} {level} < LLN {limit}")
    if not comparisons:
        raise ScoringInputError("c3", "give at least one of C3, C4 or CH50 with its LLN")
    return _proposal("LOWCOMP", low, " or ".join(comparisons))


def propose_arthritis(joint_count: int, *, rule: ArthritisRule = ">=2") -> Proposal:
    """ARTH: affected joints at least 2 (">=2", the default) or more than 2 (">2")."""
    count = to_count(joint_count, "joint_count")
    if rule == ">=2":
        present = count >= 2
    elif rule == ">2":
        present = count > 2
    else:
        raise ScoringInputError("rule", f"arthritis rule must be '>=2' or '>2', got {rule!r}")
    return _proposal("ARTH", present, f"{count} joints {rule}")


def propose_casts(rbc_casts: bool) -> Proposal:
    """CASTS: red-cell (or heme-granular) casts seen in the urine sediment."""
    if not isinstance(rbc_casts, bool):
        raise ScoringInputError("rbc_casts", f"expected yes or no, got {rbc_casts!r}")
    return _proposal("CASTS", rbc_casts, "RBC casts seen")
