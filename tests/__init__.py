"""Test suite, one folder per app."""
