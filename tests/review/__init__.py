"""Tests for monitor review: queries, source data verification, e-signatures and locks."""
