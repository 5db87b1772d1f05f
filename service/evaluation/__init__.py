"""Offline evaluation: golden datasets, judges, metrics, reports and quality gates."""
