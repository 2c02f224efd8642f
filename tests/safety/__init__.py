"""Tests for the safety app."""
