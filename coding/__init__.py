"""Medical coding: MedDRA and WHODrug releases, their terms, and the codes of reported terms."""
