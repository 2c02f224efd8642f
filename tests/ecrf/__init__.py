"""Tests of the project package: settings, audit, access, health, API and web shells."""
