"""Seed a fresh database for the API fuzzing run (.ci/fuzz) and write what the fuzzer needs."""

# Run as `python -m tests.fuzz.seed OUT_DIR` against a migrated, empty database. It loads the
# demo trials (staff for every role, participants in various states), adds a row to each list
# (a query, an alert, a lock, an export), signs in the fuzzing roles and writes, per role,
# OUT_DIR/<username>.headers (the session's cookie and CSRF token, one `Name: value` a line,
# for `schemathesis run -H`) and OUT_DIR/<username>.ids.json (the ids of objects that user can
# see, which tests.fuzz.hooks puts in place of generated ones).

from __future__ import annotations

import json
import os
import secrets
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import django

# The roles the API is fuzzed as: site staff, a sponsor's monitor, a blinded statistician.
ROLES = ("msvle.coordinator.va01", "msvle.monitor.va01", "msvle.statistician")


def seed(out: Path) -> dict[str, Any]:
    from django.test import Client
    from django.utils import timezone

    from accounts.models import User
    from accounts.services import system_actor
    from alerts.models import Alert, AlertKind
    from alerts.services import AlertSpec, alerts_raise
    from casebook.catalogue import form_type, form_types
    from demo.seed import demo_load
    from exports.models import DsmbRelease, Export
    from exports.services import export_request
    from review.models import DataQuery, Lock, LockLevel
    from review.services import lock_apply, query_open
    from trials.access import active_memberships, scope_queryset
    from trials.models import Cohort, Participant, Trial
    from visits.models import Visit

    demo_load()
    now = timezone.now()
    trial = Trial.objects.get(code="MSVLE")

    def staff(role: str) -> User:
        return User.objects.get(username=f"msvle.{role}")

    record = form_types()["sledai2k"].model.objects.filter(participant__trial=trial).first()
    query_open(
        actor=staff("monitor.va01"),
        ftype=form_type("sledai2k"),
        record=record,
        field_name="dna",
        text="Anti-dsDNA: which lab report?",
        now=now,
    )
    alerts_raise(
        [
            AlertSpec(
                kind=AlertKind.VISIT_MISSED,
                source_key="fuzz:seed",
                participant=record.participant,
                occurred_at=now - timedelta(hours=1),
                message="A visit was missed.",
                visit_id=record.visit_id,
            )
        ],
        actor=system_actor(),
        now=now,
    )
    lock_apply(
        actor=staff("data_manager"),
        level=LockLevel.FORM,
        trial=trial,
        participant=record.participant,
        form_code="sledai2k",
        record=record,
        reason="Reviewed",
        now=now,
    )
    # Queued only: no worker runs during the fuzzing.
    export_request(actor=staff("statistician"), trial=trial, fmt="csv", now=now, enqueue=False)

    out.mkdir(parents=True, exist_ok=True)
    csrf = secrets.token_hex(16)  # 32 characters: a CSRF secret as Django makes them
    common = {
        "queries": list(DataQuery.objects.values_list("pk", flat=True)),
        "alerts": list(Alert.objects.values_list("pk", flat=True)),
        "locks": list(Lock.objects.values_list("pk", flat=True)),
        "exports": list(Export.objects.values_list("pk", flat=True)),
        "releases": list(DsmbRelease.objects.values_list("pk", flat=True)),
        "cohorts": list(Cohort.objects.values_list("pk", flat=True)),
    }
    ids: dict[str, Any] = {}
    for username in ROLES:
        user = User.objects.get(username=username)
        client = Client()
        client.force_login(user)
        session = client.cookies["sessionid"].value
        (out / f"{username}.headers").write_text(
            f"Cookie: sessionid={session}; csrftoken={csrf}\nX-CSRFToken: {csrf}\n"
        )
        # What this role sees: the participants of its trials and sites, their visits, records.
        seen = sorted(scope_queryset(Participant.objects.all(), user).values_list("pk", flat=True))
        visits: dict[str, list[int]] = {}
        for participant_id, visit_id in Visit.objects.filter(participant_id__in=seen).values_list(
            "participant_id", "pk"
        ):
            visits.setdefault(str(participant_id), []).append(visit_id)
        ids[username] = {
            **common,
            "participants": seen,
            "trials": sorted({m.trial.code for m in active_memberships(user)}),
            "visits": visits,
            "records": {
                code: [
                    list(pair)
                    for pair in ftype.model.objects.filter(participant_id__in=seen)
                    .order_by("pk")
                    .values_list("participant_id", "pk")
                ]
                for code, ftype in form_types().items()
            },
        }
        (out / f"{username}.ids.json").write_text(json.dumps(ids[username], indent=1))
    return ids


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ecrf.settings.local")
    django.setup()
    found = seed(Path(sys.argv[1]))
    for username, seen in found.items():
        records = sum(len(pairs) for pairs in seen["records"].values())
        print(
            f"Fuzzing as {username}: {len(seen['participants'])} participants, "
            f"{records} form records"
        )
