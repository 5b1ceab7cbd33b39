"""Store: the results file (append-only, resumable), the call cache (SQLite), and bounded-memory
id sets."""
