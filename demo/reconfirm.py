"""Demo participants confirm again, on the day of randomization, the criteria the protocol
asks to hold that day (each inclusion still met, each exclusion not applying)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from trials.definitions import definition_of
from trials.models import Participant
from trials.protocol import ProtocolDefinition
from trials.services import eligibility_reconfirm

COMMENT = "Confirmed again on the day of randomization"


def reconfirmed_at_randomization(definition: ProtocolDefinition) -> dict[str, bool]:
    """{criterion code: the answer that allows randomization} for each criterion the protocol
    asks to confirm again on the day of randomization."""
    eligibility = definition.eligibility
    return {
        criterion.code: criterion.code.startswith("IN")
        for criterion in (*eligibility.inclusion, *eligibility.exclusion)
        if criterion.reconfirm_at == "randomization"
    }


def reconfirm_before_randomization(*, actor: Any, participant: Participant, now: datetime) -> None:
    definition = definition_of(participant.protocol_version)
    for code, answer in reconfirmed_at_randomization(definition).items():
        eligibility_reconfirm(
            actor=actor,
            participant=participant,
            criterion_code=code,
            answer=answer,
            comment=COMMENT,
            now=now,
        )
