"""Tests for the trials app."""
