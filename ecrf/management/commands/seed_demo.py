"""Load the demo: both protocols, demo staff for every role (passwords printed), participants."""

from typing import Any

from django.core.management.base import BaseCommand

from ecrf.demo import demo_load


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
        self.stdout.write("\nDemo sign-ins (passwords are new each time this runs):")
        width = max(len(login.username) for login in logins)
        for login in logins:
            self.stdout.write(f"  {login.username:<{width}}  {login.password}  {login.description}")
        self.stdout.write("")
