"""Load the demo: demo staff for every role, with their passwords printed."""

from typing import Any

from django.core.management.base import BaseCommand

from trials.demo import demo_staff_create


class Command(BaseCommand):
    help = "Create demo users for every role of every trial and print their passwords."

    def handle(self, *args: Any, **options: Any) -> None:
        logins = demo_staff_create()
        self.stdout.write("\nDemo sign-ins (passwords are new each time this runs):")
        width = max(len(login.username) for login in logins)
        for login in logins:
            self.stdout.write(f"  {login.username:<{width}}  {login.password}  {login.description}")
        self.stdout.write("")
