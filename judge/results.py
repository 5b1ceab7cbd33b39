"""Moved to `judge.store.results`; this name stays importable because earlier releases
documented `judge.results.iter_records` for reading a results file back."""

from judge.store.results import ResultsWriter, iter_records, kept_ids

__all__ = ["ResultsWriter", "iter_records", "kept_ids"]
