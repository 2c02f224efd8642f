"""The demo set-up and the synthetic-trial generator, with their management commands."""
