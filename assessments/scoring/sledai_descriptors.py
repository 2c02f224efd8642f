"""The 24 SLEDAI-2K descriptors with their weights, exclusion clauses and organ categories."""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True, slots=True)
class Descriptor:
    """One SLEDAI-2K item; `has_exclusion` means it needs an "attributable to SLE" flag."""

    number: int
    code: str
    label: str
    weight: int
    has_exclusion: bool
    category: str
    definition: str


NEURO = "neurological"
VASCULAR = "vascular"
MUSCULOSKELETAL = "musculoskeletal"
RENAL = "renal"
MUCOCUTANEOUS = "mucocutaneous"
SEROSAL = "serosal"
IMMUNOLOGICAL = "immunological"
CONSTITUTIONAL = "constitutional"
HAEMATOLOGICAL = "haematological"

# (code, label, weight, has exclusion clause, category), in the order of the published form.
# The codes are local names, not CDISC terminology.
_ROWS: tuple[tuple[str, str, int, bool, str], ...] = (
    ("SEIZ", "Seizure", 8, True, NEURO),
    ("PSYCH", "Psychosis", 8, True, NEURO),
    ("OBS", "Organic brain syndrome", 8, True, NEURO),
    ("VISUAL", "Visual disturbance", 8, True, NEURO),
    ("CRNERV", "Cranial nerve disorder", 8, False, NEURO),
    ("HEADA", "Lupus headache", 8, False, NEURO),
    ("CVA", "Stroke (CVA)", 8, True, NEURO),
    ("VASC", "Vasculitis", 8, False, VASCULAR),
    ("ARTH", "Arthritis", 4, False, MUSCULOSKELETAL),
    ("MYOS", "Myositis", 4, False, MUSCULOSKELETAL),
    ("CASTS", "Urinary casts", 4, False, RENAL),
    ("HEMAT", "Haematuria", 4, True, RENAL),
    ("PROT", "Proteinuria", 4, False, RENAL),
    ("PYUR", "Pyuria", 4, True, RENAL),
    ("RASH", "Rash", 2, False, MUCOCUTANEOUS),
    ("ALOP", "Alopecia", 2, False, MUCOCUTANEOUS),
    ("MUCUL", "Mucosal ulcers", 2, False, MUCOCUTANEOUS),
    ("PLEUR", "Pleurisy", 2, False, SEROSAL),
    ("PERIC", "Pericarditis", 2, False, SEROSAL),
    ("LOWCOMP", "Low complement", 2, False, IMMUNOLOGICAL),
    ("DNA", "Increased DNA binding", 2, False, IMMUNOLOGICAL),
    ("FEVER", "Fever", 1, True, CONSTITUTIONAL),
    ("THROMB", "Thrombocytopenia", 1, True, HAEMATOLOGICAL),
    ("LEUK", "Leukopenia", 1, True, HAEMATOLOGICAL),
)

# Paraphrased definitions, shown to the investigator beside each item.
_DEFINITIONS: MappingProxyType[str, str] = MappingProxyType(
    {
        "SEIZ": "Recent onset; exclude metabolic, infectious or drug cause",
        "PSYCH": "Severe disturbance of reality perception impairing function; "
        "exclude uraemia or drugs",
        "OBS": "Rapid-onset fluctuating cognitive impairment with clouded consciousness and at "
        "least two of perceptual, speech, sleep or psychomotor disturbance; exclude metabolic, "
        "infectious or drug cause",
        "VISUAL": "SLE retinal changes or optic neuritis; exclude hypertension, infection or drugs",
        "CRNERV": "New sensory or motor cranial neuropathy",
        "HEADA": "Severe, persistent headache not responding to narcotics",
        "CVA": "New stroke; exclude arteriosclerosis",
        "VASC": "Ulceration, gangrene, finger nodules, periungual infarcts, splinters, "
        "or biopsy or angiogram proof",
        "ARTH": "Joints with pain plus tenderness, swelling or effusion (>=2 or >2, configurable)",
        "MYOS": "Proximal aching or weakness with raised CK/aldolase, EMG change, "
        "or positive biopsy",
        "CASTS": "Heme-granular or RBC casts",
        "HEMAT": ">5 RBC/hpf; exclude stone, infection or other cause",
        "PROT": ">0.5 g/24 h; persistent proteinuria counts",
        "PYUR": ">5 WBC/hpf; exclude infection",
        "RASH": "Inflammatory rash, new or ongoing",
        "ALOP": "Abnormal patchy or diffuse hair loss, new or ongoing",
        "MUCUL": "Oral or nasal ulcers, new or ongoing",
        "PLEUR": "Pleuritic pain with rub, effusion or pleural thickening",
        "PERIC": "Pericardial pain plus rub, effusion, or ECG/echo confirmation",
        "LOWCOMP": "CH50, C3 or C4 below the lab's lower limit of normal",
        "DNA": "Anti-dsDNA above the lab's normal range",
        "FEVER": ">38 degrees C; exclude infection",
        "THROMB": "Platelets <100 x 10^9/L; exclude drugs",
        "LEUK": "WBC <3 x 10^9/L; exclude drugs",
    }
)

DESCRIPTORS: tuple[Descriptor, ...] = tuple(
    Descriptor(number, code, label, weight, has_exclusion, category, _DEFINITIONS[code])
    for number, (code, label, weight, has_exclusion, category) in enumerate(_ROWS, start=1)
)

DESCRIPTORS_BY_CODE: MappingProxyType[str, Descriptor] = MappingProxyType(
    {d.code: d for d in DESCRIPTORS}
)
MAX_TOTAL = sum(d.weight for d in DESCRIPTORS)
# Serology items left out of the optional "clinical SLEDAI".
SEROLOGY_CODES: frozenset[str] = frozenset({"LOWCOMP", "DNA"})
