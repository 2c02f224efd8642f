"""Plausible lupus nephritis findings over time: the values a site would enter on each form."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from assessments.models.sledai import attributable_field, item_field
from assessments.scoring import DESCRIPTORS_BY_CODE, egfr_ckd_epi
from assessments.scoring.units import CREATININE_MG_PER_MMOL, CREATININE_UMOL_L_PER_MG_DL

# Units each site's laboratory reports in, chosen by site: (UPCR, creatinine, complement).
LAB_UNITS = (("mg/mmol", "umol/L", "g/L"), ("g/g", "mg/dL", "g/L"), ("mg/g", "mg/dL", "mg/dL"))
# Prednisone daily doses of a taper, in mg.
TAPER = (60, 50, 40, 30, 25, 20, 15, 12.5, 10, 7.5, 5)
# Weeks over which proteinuria falls to its end-of-induction level.
INDUCTION_WEEKS = 24
# Normal ranges of the site laboratory, canonical units: (analyte, lln, uln).
RANGES: dict[str, tuple[Decimal | None, Decimal | None]] = {
    "wbc": (Decimal("4.0"), Decimal("11.0")),
    "neutrophils": (Decimal("1.8"), Decimal("7.5")),
    "lymphocytes": (Decimal("1.0"), Decimal("4.0")),
    "platelets": (Decimal(150), Decimal(400)),
    "c3": (Decimal("0.90"), Decimal("1.80")),
    "c4": (Decimal("0.10"), Decimal("0.40")),
    "anti_dsdna": (None, Decimal(15)),
}
HAEMOGLOBIN_RANGE = {
    "F": (Decimal("12.0"), Decimal("16.0")),
    "M": (Decimal("13.5"), Decimal("17.5")),
}
CLINICAL_ITEMS = ("RASH", "ALOP", "ARTH", "MUCUL")


def dec(value: float, places: int) -> Decimal:
    return Decimal(f"{value:.{places}f}")


def amount(value: float) -> Decimal:
    """A dose as written: 60, 12.5 (never 6E+1 or 60.0)."""
    return Decimal(f"{value:g}")


@dataclass
class Profile:
    """A participant's disease and how it responds; all findings follow from it."""

    sex: str
    date_of_birth: date
    weight: float
    upcr0: float
    upcr_end: float
    scr0: float
    scr_end: float
    rbc0: float
    rbc_end: float
    casts0: bool
    c3_0: float
    c4_0: float
    dsdna0: float
    pred0: float
    units: tuple[str, str, str]
    # The screening failure this profile explains, if any: "sledai", "upcr" or "egfr".
    fails: str = ""
    clinical: tuple[str, ...] = ()
    rescue: bool = False
    rng: random.Random = field(default_factory=random.Random, repr=False)

    def fraction(self, day: int) -> float:
        """How far induction has gone `day` days after Day 0 (0 before it, 1 at its end)."""
        return min(max(day, 0) / (7 * INDUCTION_WEEKS), 1.0) ** 0.8


def profile(
    rng: random.Random,
    *,
    sex: str,
    date_of_birth: date,
    site_index: int,
    fails: str = "",
    arm_active: bool = True,
    rescue_rate: float = 0.05,
) -> Profile:
    draw = rng.random()
    # Responses are a little better on the active arm, as a trial hopes to show.
    cr, pr = (0.45, 0.25) if arm_active else (0.3, 0.25)
    upcr0 = rng.uniform(1.3, 5.5)
    if draw < cr:
        upcr_end = rng.uniform(0.12, 0.42)
    elif draw < cr + pr:
        upcr_end = min(upcr0 * rng.uniform(0.2, 0.45), 2.8)
        upcr_end = max(upcr_end, 0.6)
    else:
        upcr_end = upcr0 * rng.uniform(0.7, 1.15)
    non_responder = draw >= cr + pr
    scr0 = rng.uniform(0.6, 1.3) if sex == "F" else rng.uniform(0.8, 1.45)
    if fails == "upcr":
        upcr0 = rng.uniform(0.5, 0.9)
    if fails == "egfr":
        scr0 = rng.uniform(2.3, 3.2)
    return Profile(
        sex=sex,
        date_of_birth=date_of_birth,
        weight=rng.uniform(48, 92) if sex == "F" else rng.uniform(60, 105),
        upcr0=upcr0,
        upcr_end=upcr_end,
        scr0=scr0,
        scr_end=scr0 * (rng.uniform(1.0, 1.35) if non_responder else rng.uniform(0.88, 1.05)),
        rbc0=0.0 if fails == "sledai" else rng.uniform(8, 45),
        rbc_end=rng.uniform(6, 30) if non_responder else rng.uniform(0, 5),
        casts0=rng.random() < 0.3 and fails != "sledai",
        c3_0=rng.uniform(0.35, 0.85),
        c4_0=rng.uniform(0.03, 0.12),
        dsdna0=rng.uniform(30, 400),
        pred0=rng.choice((40, 50, 60)),
        units=LAB_UNITS[site_index % len(LAB_UNITS)],
        fails=fails,
        clinical=tuple(code for code in CLINICAL_ITEMS if rng.random() < 0.3 and fails != "sledai"),
        rescue=non_responder and rng.random() < rescue_rate * 3,
        rng=rng,
    )


def _along(start: float, end: float, fraction: float, noise: float, rng: random.Random) -> float:
    return (start + (end - start) * fraction) * rng.uniform(1 - noise, 1 + noise)


@dataclass(frozen=True)
class Findings:
    """What the kidney and the blood show on one day."""

    upcr_g_g: float
    scr_mg_dl: float
    rbc: float
    wbc_urine: float
    rbc_casts: bool
    cellular_casts: bool
    c3: float
    c4: float
    dsdna: float
    wbc: float
    platelets: float
    haemoglobin: float


def findings(p: Profile, day: int, rng: random.Random) -> Findings:
    """The findings `day` days after Day 0 (negative during screening)."""
    f = p.fraction(day)
    casts = p.casts0 and f < 0.5
    return Findings(
        upcr_g_g=max(_along(p.upcr0, p.upcr_end, f, 0.08, rng), 0.05),
        scr_mg_dl=_along(p.scr0, p.scr_end, f, 0.04, rng),
        rbc=max(_along(p.rbc0, p.rbc_end, f, 0.2, rng), 0.0),
        wbc_urine=max(_along(p.rbc0 * 0.6, p.rbc_end * 0.5, f, 0.25, rng), 0.0),
        rbc_casts=casts,
        cellular_casts=casts or (p.casts0 and rng.random() < 0.2),
        c3=_along(p.c3_0, 1.1, f, 0.06, rng),
        c4=_along(p.c4_0, 0.2, f, 0.08, rng),
        dsdna=max(_along(p.dsdna0, 12, f, 0.15, rng), 1.0),
        wbc=rng.uniform(3.6, 8.5),
        platelets=rng.uniform(160, 340) if rng.random() > 0.08 else rng.uniform(80, 140),
        haemoglobin=_along(10.8, 12.9, f, 0.05, rng),
    )


def renal_data(p: Profile, day: date, found: Findings, rng: random.Random) -> dict[str, Any]:
    upcr_unit, creatinine_unit, _ = p.units
    if upcr_unit == "mg/mmol":
        upcr = dec(found.upcr_g_g * float(CREATININE_MG_PER_MMOL), 1)
    elif upcr_unit == "mg/g":
        upcr = dec(found.upcr_g_g * 1000, 0)
    else:
        upcr = dec(found.upcr_g_g, 2)
    if upcr <= 0:
        upcr = Decimal("0.1") if upcr_unit == "mg/mmol" else Decimal("0.05")
    if creatinine_unit == "umol/L":
        scr = dec(found.scr_mg_dl * float(CREATININE_UMOL_L_PER_MG_DL), 0)
    else:
        scr = dec(found.scr_mg_dl, 2)
    return {
        "assessment_date": day,
        "specimen_type": "24h_urine" if rng.random() < 0.2 else "spot_urine",
        "upcr_value": upcr,
        "upcr_unit": upcr_unit,
        "serum_creatinine_value": scr,
        "creatinine_unit": creatinine_unit,
        "urine_rbc_hpf": dec(found.rbc, 1),
        "urine_wbc_hpf": dec(found.wbc_urine, 1),
        "rbc_casts": found.rbc_casts,
        "cellular_casts": found.cellular_casts,
    }


def egfr_of(p: Profile, day: date, found: Findings) -> Decimal:
    age = (
        day.year
        - p.date_of_birth.year
        - ((day.month, day.day) < (p.date_of_birth.month, p.date_of_birth.day))
    )
    return egfr_ckd_epi(
        age_years=age,
        sex=p.sex,
        creatinine_value=dec(found.scr_mg_dl, 2),
        creatinine_unit="mg/dL",
        equation="2021",
    ).egfr


def labs_data(p: Profile, day: date, found: Findings) -> dict[str, Any]:
    _, _, complement_unit = p.units
    factor = Decimal(100) if complement_unit == "mg/dL" else Decimal(1)
    neutrophils = found.wbc * 0.62
    lymphocytes = found.wbc * 0.24
    low, high = HAEMOGLOBIN_RANGE[p.sex]
    values = {
        "haemoglobin": (dec(found.haemoglobin, 1), "g/dL", low, high),
        "wbc": (dec(found.wbc, 2), "10^9/L", *RANGES["wbc"]),
        "neutrophils": (dec(neutrophils, 2), "10^9/L", *RANGES["neutrophils"]),
        "lymphocytes": (dec(lymphocytes, 2), "10^9/L", *RANGES["lymphocytes"]),
        "platelets": (dec(found.platelets, 0), "10^9/L", *RANGES["platelets"]),
        "anti_dsdna": (dec(found.dsdna, 0), "IU/mL", *RANGES["anti_dsdna"]),
    }
    data: dict[str, Any] = {"sample_date": day}
    for code, (value, unit, lln, uln) in values.items():
        data |= {f"{code}_value": value, f"{code}_unit": unit, f"{code}_lln": lln}
        data[f"{code}_uln"] = uln
    for code, level in (("c3", found.c3), ("c4", found.c4)):
        lower, upper = RANGES[code]
        assert lower is not None and upper is not None
        data |= {
            f"{code}_value": dec(level * 100, 0) if factor != 1 else dec(level, 2),
            f"{code}_unit": complement_unit,
            f"{code}_lln": dec(float(lower * factor), 2),
            f"{code}_uln": dec(float(upper * factor), 2),
        }
    return data


def sledai_data(
    p: Profile, day: date, found: Findings, days_after_day0: int, window_days: int
) -> dict[str, Any]:
    """Descriptors that follow from the findings of the day, as the investigator confirms them."""
    present: list[str] = []
    if found.upcr_g_g > 0.5:
        present.append("PROT")
    if found.rbc > 5:
        present.append("HEMAT")
    if found.wbc_urine > 5:
        present.append("PYUR")
    if found.rbc_casts or found.cellular_casts:
        present.append("CASTS")
    low_c3, _ = RANGES["c3"]
    low_c4, _ = RANGES["c4"]
    assert low_c3 is not None and low_c4 is not None
    if found.c3 < float(low_c3) or found.c4 < float(low_c4):
        present.append("LOWCOMP")
    if found.dsdna > 15:
        present.append("DNA")
    if found.platelets < 100:
        present.append("THROMB")
    if days_after_day0 < 60:
        present.extend(p.clinical)
    data: dict[str, Any] = {"assessment_date": day, "window_days": window_days}
    for code in present:
        data[item_field(code)] = True
        if DESCRIPTORS_BY_CODE[code].has_exclusion:
            data[attributable_field(code)] = True
    return data


def vitals_data(
    p: Profile, timepoint: str, measured_at: datetime, rng: random.Random, *, weight: bool
) -> dict[str, Any]:
    systolic = rng.randint(104, 142)
    # Now and then a reading high enough for the edit check to ask about it.
    if rng.random() < 0.03:
        systolic = rng.randint(182, 195)
    data: dict[str, Any] = {
        "timepoint": timepoint,
        "measured_at": measured_at,
        "systolic": systolic,
        "diastolic": rng.randint(62, min(94, systolic - 20)),
        "heart_rate": rng.randint(58, 96),
        "temperature_c": dec(rng.uniform(36.1, 37.3), 1),
        "respiratory_rate": rng.randint(12, 19),
    }
    if weight:
        data["weight_kg"] = dec(p.weight + rng.uniform(-0.8, 0.8), 1)
    return data


def pregnancy_data(p: Profile, day: date, *, screening: bool) -> dict[str, Any]:
    age = (day - p.date_of_birth).days // 365
    if p.sex != "F" or age >= 50:
        return {"applicable": False}
    return {
        "applicable": True,
        "test_date": day,
        "test_type": "serum" if screening else "urine",
        "result": "negative",
    }


def medical_history_data(p: Profile, day: date, rng: random.Random) -> dict[str, Any]:
    diagnosed = day - timedelta(days=rng.randint(400, 4000))
    return {
        "sle_diagnosis_date": f"{diagnosed:%Y-%m}",
        "classification": rng.choice(("acr1997", "slicc2012", "both")),
        "ln_biopsy_date": day - timedelta(days=rng.randint(14, 150)),
        "isn_rps_class": rng.choice(("III", "IV", "IV", "IV+V", "III+V")),
        "relapse": rng.random() < 0.25,
    }


def prednisone_doses(p: Profile, visits: int, rng: random.Random) -> list[float]:
    """The daily prednisone dose set at each follow-up visit, tapering from the start dose."""
    index = TAPER.index(p.pred0)
    doses = []
    for _ in range(visits):
        step = rng.choice((1, 1, 2)) if p.upcr_end < p.upcr0 * 0.6 else rng.choice((0, 1))
        index = min(index + step, len(TAPER) - 1)
        doses.append(float(TAPER[index]))
    return doses
