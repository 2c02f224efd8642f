"""Visits made concrete from the protocol schedule, with windows and status."""
