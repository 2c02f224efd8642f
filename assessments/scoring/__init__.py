"""Pure-Python clinical calculators (no Django): SLEDAI-2K, eGFR, renal response, units, dosing."""

from assessments.scoring.base import Calculator
from assessments.scoring.dosing import (
    WEIGHT_BASED_DOSE,
    AdministrationCheck,
    DoseTarget,
    check_administered,
    target_dose,
)
from assessments.scoring.egfr import (
    CKD_EPI_2009,
    CKD_EPI_2021,
    EgfrResult,
    egfr_ckd_epi,
)
from assessments.scoring.errors import ScoringInputError
from assessments.scoring.renal_common import Reason, RenalInputs, RenalResponseResult
from assessments.scoring.renal_response import (
    RULE_SETS,
    RuleSet,
    evaluate,
    get_rule_set,
)
from assessments.scoring.sledai import (
    SLEDAI_2K,
    Contribution,
    DescriptorInput,
    NotScored,
    SledaiResult,
    score_sledai2k,
)
from assessments.scoring.sledai_descriptors import (
    DESCRIPTORS,
    DESCRIPTORS_BY_CODE,
    Descriptor,
)
from assessments.scoring.units import (
    CreatinineValue,
    UpcrValue,
    creatinine,
    upcr_to_g_per_g,
)

__all__ = [
    "CKD_EPI_2009",
    "CKD_EPI_2021",
    "DESCRIPTORS",
    "DESCRIPTORS_BY_CODE",
    "RULE_SETS",
    "SLEDAI_2K",
    "WEIGHT_BASED_DOSE",
    "AdministrationCheck",
    "Calculator",
    "Contribution",
    "CreatinineValue",
    "Descriptor",
    "DescriptorInput",
    "DoseTarget",
    "EgfrResult",
    "NotScored",
    "Reason",
    "RenalInputs",
    "RenalResponseResult",
    "RuleSet",
    "ScoringInputError",
    "SledaiResult",
    "UpcrValue",
    "check_administered",
    "creatinine",
    "egfr_ckd_epi",
    "evaluate",
    "get_rule_set",
    "score_sledai2k",
    "target_dose",
    "upcr_to_g_per_g",
]
