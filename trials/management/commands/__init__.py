"""Management commands of the trials app."""
