"""Generate a trial's concealed allocation list from a secret seed (unblinded statistician)."""

import os
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from accounts.models import User
from ecrf.errors import DomainError
from trials.models import Trial
from trials.services import allocation_generate


class Command(BaseCommand):
    help = (
        "Generate the permuted-block allocation list of a trial's randomized stage. The secret "
        "seed is read from the environment variable named by --seed-env (default "
        "ALLOCATION_SEED), never from the command line, so it stays out of shell history. "
        "Nothing about the list is printed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--trial", required=True, help="Trial code, e.g. MSVLE.")
        parser.add_argument("--as", dest="username", required=True, help="Unblinded statistician.")
        parser.add_argument("--seed-env", default="ALLOCATION_SEED")
        parser.add_argument("--per-stratum", type=int, default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        seed = os.environ.get(options["seed_env"], "")
        if not seed:
            raise CommandError(
                f"Set the secret seed in the environment variable {options['seed_env']}."
            )
        trial = Trial.objects.filter(code=options["trial"]).first()
        if trial is None:
            raise CommandError(f"No trial {options['trial']!r}.")
        actor = User.objects.filter(username=options["username"], is_active=True).first()
        if actor is None:
            raise CommandError(f"No active user {options['username']!r}.")
        try:
            allocation_list = allocation_generate(
                actor=actor,
                trial=trial,
                seed=seed,
                per_stratum=options["per_stratum"],
                now=timezone.now(),
            )
        except DomainError as error:
            raise CommandError(error.message) from None
        self.stdout.write(
            f"{trial.code}: allocation list created for stage {allocation_list.stage_code} "
            f"({allocation_list.slots.count()} concealed slots; seed fingerprint "
            f"{allocation_list.seed_sha256[:12]}…)."
        )
