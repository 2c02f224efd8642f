"""Adverse events, serious adverse events and their reporting clocks."""
