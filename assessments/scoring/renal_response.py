"""Registry of renal response rule sets by stable code, so a protocol can name one."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import MappingProxyType

from assessments.scoring.base import Calculator
from assessments.scoring.errors import ScoringInputError
from assessments.scoring.renal_common import RenalInputs, RenalResponseResult
from assessments.scoring.renal_guidelines import (
    ACR_2006,
    EULAR_2019,
    KDIGO_2021,
    acr2006,
    eular2019,
    kdigo2021,
)
from assessments.scoring.renal_trials import (
    BLISS_LN,
    NCT03917797_CR,
    bliss_ln,
    nct03917797_cr,
)


@dataclass(frozen=True, slots=True)
class RuleSet:
    """A rule set: its code, identity, categories (worst first) and accepted parameters."""

    code: str
    calculator: Calculator
    categories: tuple[str, ...]
    responders: frozenset[str]
    parameters: frozenset[str]
    function: Callable[..., RenalResponseResult]

    def rank(self, category: str) -> int:
        """Position of `category` from worst (0) to best, for ordering outcomes."""
        return self.categories.index(category)


RULE_SETS: MappingProxyType[str, RuleSet] = MappingProxyType(
    {
        "eular2019": RuleSet(
            "eular2019",
            EULAR_2019,
            ("NR", "PRR", "CRR"),
            frozenset({"PRR", "CRR"}),
            frozenset(
                {
                    "t_cr",
                    "rescue_is_failure",
                    "gfr_ok_egfr_min",
                    "gfr_ok_ratio_min",
                    "prr_reduction_min",
                    "prr_upcr_max",
                }
            ),
            eular2019,
        ),
        "kdigo2021": RuleSet(
            "kdigo2021",
            KDIGO_2021,
            ("NR", "PR", "CR"),
            frozenset({"PR", "CR"}),
            frozenset({"tol", "basis"}),
            kdigo2021,
        ),
        "bliss_ln": RuleSet(
            "bliss_ln",
            BLISS_LN,
            ("NR", "PERR", "CRR"),
            frozenset({"PERR", "CRR"}),
            frozenset({"prednisone_limit_mg", "steroid_from_week"}),
            bliss_ln,
        ),
        "nct03917797_cr": RuleSet(
            "nct03917797_cr",
            NCT03917797_CR,
            ("NR", "PR", "CR"),
            frozenset({"PR", "CR"}),
            frozenset(
                {
                    "prednisone_limit_mg",
                    "cr_upcr_max",
                    "cr_egfr_min",
                    "cr_egfr_ratio_min",
                    "cr_urine_rbc_max",
                    "cr_rbc_casts_allowed",
                    "cr_egfr_unit_registered",
                    "pr_rule",
                    "pr_provisional",
                }
            ),
            nct03917797_cr,
        ),
        "acr2006": RuleSet(
            "acr2006",
            ACR_2006,
            ("NR", "PR", "CR"),
            frozenset({"PR", "CR"}),
            frozenset({"egfr_normal", "stable_tol", "improvement", "upcr_improvement"}),
            acr2006,
        ),
    }
)


def get_rule_set(code: str) -> RuleSet:
    """Look a rule set up by its stable code."""
    rule_set = RULE_SETS.get(code)
    if rule_set is None:
        known = ", ".join(RULE_SETS)
        raise ScoringInputError("code", f"unknown renal response rule set {code!r}; known: {known}")
    return rule_set


def evaluate(code: str, inputs: RenalInputs, **params: object) -> RenalResponseResult:
    """Evaluate the rule set named `code` with its optional parameters."""
    rule_set = get_rule_set(code)
    for name in params:
        if name not in rule_set.parameters:
            accepted = ", ".join(sorted(rule_set.parameters))
            raise ScoringInputError(name, f"not a parameter of {code}; accepted: {accepted}")
    if not isinstance(inputs, RenalInputs):
        raise ScoringInputError("inputs", f"expected RenalInputs, got {type(inputs).__name__}")
    return rule_set.function(inputs, **params)
