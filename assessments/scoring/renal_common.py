"""Inputs, reasons and results shared by the renal response rule sets."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import TypeVar

from assessments.scoring.base import Calculator, fmt, non_negative, positive, to_flag
from assessments.scoring.errors import ScoringInputError

T = TypeVar("T")
# The flags of a result that say a responder category was met; a treatment failure clears them.
RESPONDER_FLAGS = frozenset({"CRR", "PRR", "CR", "PR", "PERR", "GR"})


@dataclass(frozen=True, slots=True)
class RenalInputs:
    """Baseline (0) and follow-up (1) values; UPCR in g/g, eGFR in mL/min/1.73 m2.

    Numbers may be given as Decimal, int, float or str; they are stored as Decimal so that
    boundaries such as G1 = 0.9*G0 are decided exactly. `gpf` (pre-flare eGFR) defaults to
    `g0`. `week` is the assessment week counted from Day 0. `treatment_failure` says which
    event (renal flare, chronic dialysis, transplant, death, sustained doubling of creatinine)
    made the participant a treatment failure on or before the assessment: every rule set then
    gives NR.
    """

    p0: Decimal
    p1: Decimal
    g0: Decimal
    g1: Decimal
    gpf: Decimal | None = None
    urine_rbc_hpf: Decimal | None = None
    urine_wbc_hpf: Decimal | None = None
    rbc_casts: bool | None = None
    cellular_casts: bool | None = None
    prednisone_mg_day: Decimal | None = None
    rescue: bool = False
    week: int | None = None
    scr0_mg_dl: Decimal | None = None
    scr1_mg_dl: Decimal | None = None
    treatment_failure: str | None = None

    def __post_init__(self) -> None:
        for name in ("p0", "p1"):
            object.__setattr__(self, name, non_negative(getattr(self, name), name))
        for name in ("g0", "g1"):
            object.__setattr__(self, name, positive(getattr(self, name), name))
        for name in ("gpf", "scr0_mg_dl", "scr1_mg_dl"):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, positive(getattr(self, name), name))
        for name in ("urine_rbc_hpf", "urine_wbc_hpf", "prednisone_mg_day"):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, non_negative(getattr(self, name), name))
        to_flag(self.rbc_casts, "rbc_casts", optional=True)
        to_flag(self.cellular_casts, "cellular_casts", optional=True)
        to_flag(self.rescue, "rescue")
        if self.treatment_failure is not None and (
            not isinstance(self.treatment_failure, str) or not self.treatment_failure.strip()
        ):
            raise ScoringInputError("treatment_failure", "expected the event, said in words")
        if self.week is not None and (
            isinstance(self.week, bool) or not isinstance(self.week, int) or self.week < 0
        ):
            raise ScoringInputError("week", f"expected a whole number >= 0, got {self.week!r}")
        if self.rbc_casts is True and self.cellular_casts is False:
            # RBC casts are cellular casts; the two answers contradict each other.
            raise ScoringInputError("cellular_casts", "RBC casts present but cellular casts not")

    @property
    def pre_flare_egfr(self) -> Decimal:
        """Gpf, falling back to the baseline eGFR when no pre-flare value was recorded."""
        return self.gpf if self.gpf is not None else self.g0

    @property
    def any_cellular_casts(self) -> bool | None:
        """Whether any cellular cast was seen, counting RBC casts; None if neither recorded."""
        if self.rbc_casts is True or self.cellular_casts is True:
            return True
        if self.rbc_casts is None and self.cellular_casts is None:
            return None
        return False


@dataclass(frozen=True, slots=True)
class Reason:
    """One evaluated condition, e.g. "G1 60.0 >= 0.9*G0 58.5: yes"."""

    condition: str
    held: bool
    text: str


@dataclass(frozen=True, slots=True)
class RenalResponseResult:
    """A renal response category with every condition that decided it."""

    calculator: str
    version: str
    rule_set: str
    category: str
    reasons: tuple[Reason, ...]
    flags: Mapping[str, bool]
    parameters: Mapping[str, str]
    provisional: bool = False
    notes: tuple[str, ...] = field(default=())

    def explain(self) -> str:
        """All reasons, one per line, for an audit trail or a query answer."""
        return "\n".join(reason.text for reason in self.reasons)


def yes_no(held: bool) -> str:
    return "yes" if held else "no"


def plain(value: Decimal) -> str:
    """Render a threshold inside a definition as written: 90, 0.9, 0.8, 112.5."""
    return format(value.normalize(), "f")


def compare(left_label: str, left: Decimal, op: str, right_label: str, right: Decimal) -> Reason:
    """Compare two numbers and record the comparison with both values shown."""
    outcomes = {
        "<": left < right,
        "<=": left <= right,
        ">=": left >= right,
        ">": left > right,
    }
    held = outcomes[op]
    right_text = f"{right_label} {fmt(right)}" if right_label else fmt(right)
    condition = f"{left_label} {op} {right_label or fmt(right)}"
    return Reason(condition, held, f"{left_label} {fmt(left)} {op} {right_text}: {yes_no(held)}")


def flag_reason(condition: str, held: bool) -> Reason:
    """Record a yes/no fact, such as rescue therapy given."""
    return Reason(condition, held, f"{condition}: {yes_no(held)}")


def combine(name: str, definition: str, held: bool) -> Reason:
    """Record a composite condition built from reasons listed before it."""
    return Reason(name, held, f"{name} := {definition}: {yes_no(held)}")


def egfr_at_least_or_kept(
    inputs: RenalInputs, *, name: str, egfr_min: Decimal, ratio_min: Decimal
) -> tuple[bool, list[Reason]]:
    """`name` := G1 >= egfr_min OR G1 >= ratio_min*G0, with the comparisons that decided it."""
    high = compare("G1", inputs.g1, ">=", "", egfr_min)
    kept = compare("G1", inputs.g1, ">=", f"{plain(ratio_min)}*G0", ratio_min * inputs.g0)
    held = high.held or kept.held
    definition = f"G1 >= {plain(egfr_min)} OR G1 >= {plain(ratio_min)}*G0"
    return held, [high, kept, combine(name, definition, held)]


def require(value: T | None, field_name: str, rule_set: str) -> T:
    """Return an input a rule set needs, raising when the caller left it empty."""
    if value is None:
        raise ScoringInputError(field_name, f"required by the {rule_set} rule set")
    return value


def result(
    calculator: Calculator,
    code: str,
    category: str,
    reasons: list[Reason],
    flags: dict[str, bool],
    parameters: dict[str, str],
    *,
    provisional: bool = False,
    notes: tuple[str, ...] = (),
    treatment_failure: str | None = None,
) -> RenalResponseResult:
    """Assemble an immutable result carrying the calculator's name and version.

    A treatment failure makes the category NR whatever the numbers decided, with the event
    as the last reason; the result is then no longer provisional, and no responder flag holds.
    """
    if treatment_failure is not None:
        category = "NR"
        provisional = False
        flags = {name: (False if name in RESPONDER_FLAGS else held) for name, held in flags.items()}
        flags["treatment_failure"] = True
        reasons = [
            *reasons,
            Reason(
                "treatment failure => NR", True, f"treatment failure => NR: {treatment_failure}"
            ),
        ]
    return RenalResponseResult(
        calculator=calculator.name,
        version=calculator.version,
        rule_set=code,
        category=category,
        reasons=tuple(reasons),
        flags=MappingProxyType(dict(flags)),
        parameters=MappingProxyType(dict(parameters)),
        provisional=provisional,
        notes=notes,
    )
