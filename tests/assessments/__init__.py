"""Tests for the assessments app."""
