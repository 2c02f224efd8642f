"""Alerts raised for sites and sponsors by the periodic jobs: overdue and missed visits, late
SAE and SUSAR reports."""
