"""The test suite; a regular package so `tests.*` never resolves to a dependency that ships its own
top-level `tests` (neonize pulls in linkpreview, which does)."""
