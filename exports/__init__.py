"""Datasets for statisticians: SDTM-style CSV and SAS transport, CDISC ODM XML, as-of snapshots."""
