"""Tests for the pure-Python clinical calculators."""
