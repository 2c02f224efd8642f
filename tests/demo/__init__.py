"""Tests of the demo set-up and the synthetic-trial generator with their commands."""
