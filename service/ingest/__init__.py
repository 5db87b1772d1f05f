"""Ingestion: files -> cleaned text + metadata -> sentence spans -> token-sized chunks."""
