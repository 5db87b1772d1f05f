"""Verification: every answer sentence checked against the passages it cites."""
