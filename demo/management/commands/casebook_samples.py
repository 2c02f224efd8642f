"""Write the sample casebook PDF/A and annotated CRF of docs/samples from synthetic data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from archive.annotated import annotated_crf, annotated_crf_pdf
from archive.services import casebook_pdf
from demo.seed import demo_protocols_load
from demo.synthetic import generate_synthetic
from demo.synthetic.staff import username
from review.models import LockLevel, SignatureScope
from review.services.locks import lock_apply
from review.services.signatures import signature_sign
from trials.models import Participant, Trial

TRIAL = "MSVLE"
# A password set for the synthetic investigator inside the transaction, to sign with.
SIGNING_PASSWORD = "sample-signing-password-0001"  # noqa: S105 - rolled back with the data


class Command(BaseCommand):
    help = (
        "Write a sample casebook PDF/A and the annotated CRF of MSV_LE, from synthetic "
        "participants made in a transaction that is rolled back: the database is left as it was."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--out", default=str(Path(settings.BASE_DIR) / "docs" / "samples"), help="Folder."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        out = Path(options["out"])
        out.mkdir(parents=True, exist_ok=True)
        with transaction.atomic():
            now = timezone.now().replace(microsecond=0)
            demo_protocols_load(now)
            generate_synthetic(trial_code=TRIAL, participants=4, append=True)
            trial = Trial.objects.get(code=TRIAL)
            participant = (
                Participant.objects.filter(trial=trial, status__in=("on_study", "completed"))
                .select_related("trial", "site", "protocol_version")
                .order_by("-pk")
                .first()
            )
            assert participant is not None, "The synthetic participants include none on study."
            investigator = User.objects.get(
                username=username(trial, "investigator", participant.site)
            )
            investigator.set_password(SIGNING_PASSWORD)
            investigator.save(update_fields=["password"])
            signature_sign(
                actor=investigator,
                request=None,
                password=SIGNING_PASSWORD,
                participant=participant,
                scope=SignatureScope.CASEBOOK,
                acknowledged=True,
                now=now,
            )
            lock = lock_apply(
                actor=User.objects.get(username=username(trial, "data_manager")),
                level=LockLevel.SITE,
                trial=trial,
                site=participant.site,
                reason="Site close-out (sample)",
                now=now,
            )
            casebook = casebook_pdf(
                user=investigator, participant=participant, as_of=lock.locked_at, now=now
            )
            crf = annotated_crf_pdf(annotated_crf(trial), language="en")
            transaction.set_rollback(True)
        (out / "casebook-sample.pdf").write_bytes(casebook)
        (out / "annotated-crf-sample.pdf").write_bytes(crf)
        self.stdout.write(f"Wrote casebook-sample.pdf and annotated-crf-sample.pdf to {out}.")
