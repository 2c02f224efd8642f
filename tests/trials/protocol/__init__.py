"""Tests for protocol definition files."""
