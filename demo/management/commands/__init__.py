"""Commands that load the demo and generate synthetic trials; never for real data."""
