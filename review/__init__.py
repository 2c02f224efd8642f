"""Monitor review: data queries, source data verification, e-signatures and locks."""
