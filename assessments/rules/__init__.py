"""Edit checks and derivations of each form, run by the generic form service."""
