"""Named indexes: their configuration (index.toml) and their versioned Chroma store."""
