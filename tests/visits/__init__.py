"""Tests of the visits app: schedule arithmetic and visit services."""
