"""Tests of the periodic jobs and the alerts they raise."""
