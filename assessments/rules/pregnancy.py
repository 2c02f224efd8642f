"""Pregnancy test: required for a participant of childbearing potential; a positive one warns."""

from __future__ import annotations

from django.utils.translation import gettext, gettext_noop

from assessments.forms_kit import FormScope, FormType
from assessments.models import PregnancyTest
from assessments.models.pregnancy import PregnancyResult
from assessments.rules.base import Checks, FormContext, check_dates
from assessments.rules.common import coerce
from ecrf.access import SITE_STAFF_ROLES
from ecrf.messages import Text
from trials.models import Sex

TEST_FIELDS: tuple[str, ...] = ("test_date", "test_type", "result")
FIELDS: tuple[str, ...] = ("applicable", *TEST_FIELDS)


def validate(instance: PregnancyTest, ctx: FormContext, checks: Checks) -> None:
    if not coerce(instance, FIELDS, ctx, checks):
        return
    if instance.applicable:
        for name in TEST_FIELDS:
            if getattr(instance, name) in (None, ""):
                checks.error(name, gettext("Required for a participant of childbearing potential."))
    elif any(getattr(instance, name) not in (None, "") for name in TEST_FIELDS):
        checks.error(
            "applicable",
            gettext(
                "A test result is given: answer yes, or leave the test empty when it does not "
                "apply."
            ),
        )
    check_dates(instance, ("test_date",), ctx, checks)
    if instance.applicable and ctx.participant.sex == Sex.MALE:
        checks.warn(
            "applicable",
            Text(
                gettext_noop(
                    "The participant is recorded as male: childbearing potential does not apply; "
                    "please confirm."
                )
            ),
        )
    if instance.result == PregnancyResult.POSITIVE:
        positive = (
            gettext_noop(
                "Positive pregnancy test: inform the investigator and the sponsor at once "
                "(pregnancy excludes participation). Do not give the study infusion."
            )
            if ctx.visit and ctx.visit.dosing
            else gettext_noop(
                "Positive pregnancy test: inform the investigator and the sponsor at once "
                "(pregnancy excludes participation)."
            )
        )
        checks.warn("result", Text(positive))


PREGNANCY = FormType(
    code="pregnancy",
    label=gettext_noop("Pregnancy test"),
    model=PregnancyTest,
    scope=FormScope.VISIT,
    fields=FIELDS,
    required=("applicable",),
    date_fields=("test_date",),
    editors=SITE_STAFF_ROLES,
    validate=validate,
    fieldsets=(("Pregnancy test", FIELDS),),
)
