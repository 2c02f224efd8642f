"""Reads for monitors: the dashboard of their sites and the report of a monitoring visit."""
