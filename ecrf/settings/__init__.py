"""Settings split by deployment: base, local, test, production."""
