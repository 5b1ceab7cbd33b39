"""Aggregate: judgments into one record per item (the panel vote, `records`), step verdicts
into case-level numbers (`measures`), and records into a run's summary (`summary`)."""
