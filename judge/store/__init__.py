"""Store: the results file (append-only, resumable; results.py, resultsfile.py), the call cache
(cache.py), the SQLite plumbing every database shares (sqlite.py), bounded-memory id sets, and
whether a kept record was sent this run's sampling parameters (sent_params.py)."""
