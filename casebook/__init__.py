"""The casebook as site staff and monitors use it: every form of a participant, in one place."""
