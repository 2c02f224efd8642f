"""Tests of accounts: invitations, the password link, closing an account."""
