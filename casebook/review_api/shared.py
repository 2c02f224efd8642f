"""What the review API's operations share: their tag, the participant reference, form labels."""

from __future__ import annotations

from rest_framework import serializers

from casebook.catalogue import form_types

TAGS = ["review"]


def form_label(code: str) -> str:
    ftype = form_types().get(code)
    return ftype.label if ftype is not None else code


class ParticipantRefOutput(serializers.Serializer):
    id = serializers.IntegerField()
    identifier = serializers.CharField()
