"""SLEDAI-2K against the same visit's results: the renal and haematological descriptors and the
serology items the laboratory and renal forms suggest, and the ticks that contradict them."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext_noop

from assessments.models import EntryStatus, LabResults, RenalAssessment
from assessments.models.labs import ANALYTES_BY_CODE, lln_field, unit_field, value_field
from assessments.models.sledai import days_before_field, item_field
from assessments.rules.common import show
from assessments.scoring.sledai_descriptors import DESCRIPTORS_BY_CODE
from assessments.scoring.sledai_proposals import (
    Proposal,
    propose_anti_dsdna,
    propose_casts,
    propose_haematuria,
    propose_leukopenia,
    propose_low_complement,
    propose_proteinuria,
    propose_proteinuria_from_upcr,
    propose_pyuria,
    propose_thrombocytopenia,
)
from assessments.scoring.units import upcr_to_g_per_g
from ecrf.messages import Text

# The descriptors the visit's results can speak for, in the order of the SLEDAI-2K sheet.
CHECKED = ("CASTS", "HEMAT", "PROT", "PYUR", "LOWCOMP", "DNA", "THROMB", "LEUK")


def _entered(model: Any, visit: Any) -> Any:
    return model.objects.filter(visit=visit, entry_status=EntryStatus.ENTERED).first()


Records = Callable[[str, Any], Any]


def _plain(value: Decimal) -> Decimal:
    """150.0000 as 150: the comparison reads as a person writes it."""
    return Decimal(show(value))


def _canonical(labs: Any, code: str) -> Decimal | None:
    """A result in its analyte's canonical unit, or None without a value and a unit."""
    value = getattr(labs, value_field(code))
    unit = getattr(labs, unit_field(code))
    factor = ANALYTES_BY_CODE[code].units.get(unit)
    if value is None or factor is None:
        return None
    return _plain(value * factor)


def _complement(labs: Any) -> Proposal | None:
    pairs: dict[str, Decimal] = {}
    for code in ("c3", "c4", "ch50"):
        value, lln = getattr(labs, value_field(code)), getattr(labs, lln_field(code))
        if value is not None and lln is not None:
            pairs[code] = _plain(value)
            pairs[f"{code}_lln"] = _plain(lln)
    return propose_low_complement(**pairs) if pairs else None


def _from_labs(labs: Any) -> list[Proposal]:
    found: list[Proposal] = []
    protein = _canonical(labs, "proteinuria_24h")
    if protein is not None:
        found.append(propose_proteinuria(protein, specimen="24h urine"))
    complement = _complement(labs)
    if complement is not None:
        found.append(complement)
    if labs.anti_dsdna_value is not None and labs.anti_dsdna_uln is not None:
        found.append(propose_anti_dsdna(_plain(labs.anti_dsdna_value), _plain(labs.anti_dsdna_uln)))
    platelets = _canonical(labs, "platelets")
    if platelets is not None:
        found.append(propose_thrombocytopenia(platelets))
    wbc = _canonical(labs, "wbc")
    if wbc is not None:
        found.append(propose_leukopenia(wbc))
    return found


def _from_renal(renal: Any, *, has_24h_protein: bool) -> list[Proposal]:
    found: list[Proposal] = []
    if renal.rbc_casts is not None:
        found.append(propose_casts(renal.rbc_casts))
    if renal.urine_rbc_hpf is not None:
        found.append(propose_haematuria(_plain(renal.urine_rbc_hpf)))
    if renal.urine_wbc_hpf is not None:
        found.append(propose_pyuria(_plain(renal.urine_wbc_hpf)))
    # A 24-hour protein is the descriptor's own measure; a spot UPCR only stands in for it.
    if not has_24h_protein and renal.upcr_value is not None and renal.upcr_unit:
        upcr = upcr_to_g_per_g(_plain(renal.upcr_value), renal.upcr_unit)
        found.append(propose_proteinuria_from_upcr(upcr))
    return found


def visit_proposals(visit: Any, records: Records | None = None) -> list[Proposal]:
    """What the visit's entered laboratory and renal results suggest, one per descriptor;
    `records` finds them where the caller holds them in memory."""
    if visit is None:
        return []
    if records is not None:
        labs, renal = records("labs", visit), records("renal", visit)
    else:
        labs, renal = _entered(LabResults, visit), _entered(RenalAssessment, visit)
    found = _from_labs(labs) if labs is not None else []
    has_24h = any(p.code == "PROT" for p in found)
    if renal is not None:
        found += _from_renal(renal, has_24h_protein=has_24h)
    found.sort(key=lambda proposal: CHECKED.index(proposal.code))
    return found


def comparison(proposal: Proposal) -> str:
    """The comparison behind a proposal, without its yes/no."""
    return proposal.basis.rsplit(": ", 1)[0]


def contradictions(instance: Any, proposals: list[Proposal]) -> list[tuple[str, Text]]:
    """(field, message) for each descriptor whose tick disagrees with the visit's results. A
    descriptor ticked for an earlier day of the look-back window may be absent at the visit."""
    found = []
    for proposal in proposals:
        label = Text(DESCRIPTORS_BY_CODE[proposal.code].label)
        ticked = bool(getattr(instance, item_field(proposal.code)))
        days_before = getattr(instance, days_before_field(proposal.code))
        if proposal.present and not ticked:
            found.append(
                (
                    item_field(proposal.code),
                    Text(
                        gettext_noop(
                            "This visit's results suggest %(item)s (%(basis)s), but it is not "
                            "ticked; please confirm."
                        ),
                        item=label.as_param(lower=True),
                        basis=comparison(proposal),
                    ),
                )
            )
        elif not proposal.present and ticked and not days_before:
            found.append(
                (
                    item_field(proposal.code),
                    Text(
                        gettext_noop(
                            "%(item)s is ticked, but this visit's results do not show it "
                            "(%(basis)s does not hold); please confirm, or give the days before "
                            "the visit when it was present."
                        ),
                        item=label,
                        basis=comparison(proposal),
                    ),
                )
            )
    return found


def suggestion(visit: Any, records: Records | None = None) -> str:
    """The proposals of a visit as one sentence for the SLEDAI-2K page and the API."""
    proposals = visit_proposals(visit, records)
    if not proposals:
        return ""
    parts = [
        f"{DESCRIPTORS_BY_CODE[p.code].label} {'yes' if p.present else 'no'} ({comparison(p)})"
        for p in proposals
    ]
    return (
        "Suggested by this visit's laboratory and renal results (items with an exclusion "
        f"still need the investigator's attribution): {'; '.join(parts)}."
    )
