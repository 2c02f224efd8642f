"""Permuted-block allocation lists, reproducible from a secret seed (pure, no Django)."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Arm:
    code: str
    ratio: int


@dataclass(frozen=True)
class Line:
    stratum: str
    sequence: int
    block_number: int
    block_size: int
    arm_code: str


def strata_keys(factors: list[tuple[str, tuple[str, ...]]]) -> list[str]:
    """Every combination of factor levels, as 'site=VA01;sex=F' keys in a stable order."""
    if not factors:
        return ["all"]
    names = [name for name, _ in factors]
    return [
        ";".join(f"{name}={level}" for name, level in zip(names, combo, strict=True))
        for combo in itertools.product(*(levels for _, levels in factors))
    ]


def _rng(seed: str, stratum: str) -> random.Random:
    # One independent stream per stratum: adding a stratum later never changes another's list.
    digest = hmac.new(seed.encode(), stratum.encode(), hashlib.sha256).digest()
    return random.Random(int.from_bytes(digest, "big"))


def generate(
    *, seed: str, arms: list[Arm], block_sizes: list[int], strata: list[str], per_stratum: int
) -> list[Line]:
    """At least `per_stratum` lines per stratum, in whole permuted blocks of random size."""
    if not seed or len(seed) < 16:
        raise ValueError("The seed must be a secret of at least 16 characters.")
    ratio_sum = sum(arm.ratio for arm in arms)
    for size in block_sizes:
        if size % ratio_sum:
            raise ValueError(f"Block size {size} is not a multiple of the ratio sum {ratio_sum}.")
    lines: list[Line] = []
    for stratum in strata:
        rng = _rng(seed, stratum)
        sequence = 0
        block_number = 0
        while sequence < per_stratum:
            size = rng.choice(sorted(block_sizes))
            block_number += 1
            block = [arm.code for arm in arms for _ in range(arm.ratio * size // ratio_sum)]
            rng.shuffle(block)
            for arm_code in block:
                sequence += 1
                lines.append(Line(stratum, sequence, block_number, size, arm_code))
    return lines


def seed_fingerprint(seed: str) -> str:
    """Stored instead of the seed, so the list can be shown to come from a given seed."""
    return hashlib.sha256(seed.encode()).hexdigest()
