"""Trials, sites, staff memberships, participants, eligibility, consent and randomization."""
