"""API for trials, participants, eligibility, randomization, cohorts and allocation lists."""
