"""State that outlives one request: ingestion jobs, uploaded documents and their provenance,
feedback from every surface. Shared by the surfaces (API, Slack, CLI), so it lives below
them; nothing here imports a surface."""
