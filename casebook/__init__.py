"""The casebook as sites and monitors use it: every form of a participant, entered and reviewed."""
