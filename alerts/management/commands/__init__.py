"""Commands that run the alert jobs by hand."""
