"""Store: the results file (append-only, resumable; results.py, resultsfile.py), the call cache
(cache.py), the SQLite plumbing every database shares (sqlite.py), and bounded-memory id sets."""
