"""Signing in for the account tests: through the page, with authenticator codes."""

from __future__ import annotations

import time
from typing import Any

from django.test import Client
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.services import two_factor_confirm, two_factor_setup_device

# What base settings require when the environment says nothing.
DEFAULT_REQUIRED = [
    "investigator",
    "pharmacist",
    "unblinded_statistician",
    "trial_admin",
    "superuser",
]


def sign_in(client: Client, username: str, password: str) -> Any:
    return client.post("/accounts/login/", {"username": username, "password": password})


def code_now(device: TOTPDevice) -> str:
    """The code the person's authenticator app shows at this moment."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time()
    return f"{totp.token():0{device.digits}d}"


def enrol(user: Any) -> tuple[TOTPDevice, list[str]]:
    """Set up an authenticator for `user` as the set-up page does; return it and the codes."""
    device = two_factor_setup_device(user=user)
    return two_factor_confirm(user=user, code=code_now(device))
