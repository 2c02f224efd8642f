"""Load the demo: both protocols, demo staff for every role (passwords printed), participants."""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from accounts.models import User
from accounts.two_factor import two_factor_required
from demo.seed import demo_load


class Command(BaseCommand):
    help = "Load the shipped protocols, demo users for every role and synthetic participants."

    def handle(self, *args: Any, **options: Any) -> None:
        protocols, logins, counts = demo_load()
        self.stdout.write("Protocols: " + ", ".join(protocols))
        for code, count in counts.items():
            self.stdout.write(
                f"{code}: {count} demo participants created"
                if count
                else f"{code}: participants already present"
            )
        users = User.objects.in_bulk([login.username for login in logins], field_name="username")
        self.stdout.write("\nDemo sign-ins (passwords are new each time this runs):")
        width = max(len(login.username) for login in logins)
        for login in logins:
            mark = "*" if two_factor_required(users[login.username]) else " "
            self.stdout.write(
                f"{mark} {login.username:<{width}}  {login.password}  {login.description}"
            )
        if settings.TWO_FACTOR_REQUIRED_ROLES:
            self.stdout.write(
                "\n* asked to set up two-factor authentication at the first sign-in, with an "
                "authenticator app\n  (FreeOTP, Google or Microsoft Authenticator). To try the "
                "demo without it:\n  TWO_FACTOR_REQUIRED_ROLES=none make run"
            )
        self.stdout.write("")
