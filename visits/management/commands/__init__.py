"""Management commands of the visits app."""
