"""Which TRIPOD-LLM reporting items a `judge methods` paragraph covers.

TRIPOD-LLM: Gallifant J, Afshar M, Ameen S, et al. The TRIPOD-LLM reporting guideline for
studies using large language models. Nat Med 31, 60-69 (2025),
https://doi.org/10.1038/s41591-024-03425-5 (19 main items, 50 subitems). The items are named
here by their section and topic as the checklist publishes them, each with a short paraphrase
of what it asks: the item numbers could not be checked against the published table (the only
transcription found numbers the metrics and human-evaluation items differently from the
cross-references in its own text), so none is given. Only the items a methods paragraph of a
judging run can speak to are listed; the rest (title, abstract, introduction, ethics, funding,
discussion…) are the authors' to write.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from judge.report.methods import Methods

__all__ = ["Item", "checklist"]


@dataclass(frozen=True)
class Item:
    """One checklist item: where it sits, what it asks, and how far the paragraph covers it
    ("covered", "partly", "not covered"), with why."""

    topic: str
    asks: str
    status: str
    why: str


def checklist(m: Methods) -> list[Item]:
    """The items, each with its coverage by the paragraph written from `m`."""
    llm = bool(m.llm_judges)
    served = llm and all(
        j.served for j in m.summary.judges if j.judge in m.llm_judges
    )  # the provider named the model it served
    tables = m.tables.rows if m.tables is not None else {}
    humans = "agreement" in tables or bool(m.calibrated)
    cost = m.summary.cost_usd is not None
    # Every call of every LLM judge says what it was sent (earlier versions' records do not).
    sampling = llm and all(None not in m.params.get(j, {None: 0}) for j in m.llm_judges)
    return [
        _item(
            "Methods / Analytical methods",
            "the LLM's name, version and when it was used for inference",
            ("covered", "judges, the served model the provider reported, and the dates of the "
             "records") if served else ("partly", "judges and dates; the provider did not "
             "report the served model") if llm else ("not covered", "no LLM judge was used"),
        ),
        _item(
            "Methods / Analytical methods",
            "inference settings (temperature, maximum tokens, seed) and prompting",
            ("covered", "the temperature, maximum tokens and seed each judge was sent (or "
             "that the provider's default was used), samples per item and the prompt-template "
             "hash") if sampling
            else ("partly", "samples per item and the prompt-template hash; calls recorded by "
                  "an earlier version do not say their temperature, maximum tokens and seed")
            if llm else ("not covered", "no LLM judge was used"),
        ),
        _item(
            "Methods / Data",
            "how missing data were handled, with the reasons for omitted data",
            ("covered", "items scored, partial and unscored, panel gaps and the top reasons"),
        ),
        _item(
            "Methods / Outcome and evaluation metrics",
            "how the outcome and the evaluation metrics were defined and computed",
            ("covered", "rubric id, version and hash; each mean with its interval and method"),
        ),
        _item(
            "Methods / Outcome and evaluation metrics",
            "for subjective assessment: inter-assessor agreement",
            ("covered", "α with its interval per criterion (--tables)") if "agreement" in tables
            else ("not covered", "no agreement tables were given (--tables)"),
        ),
        _item(
            "Methods / Outcome and evaluation metrics",
            "how performance was compared with humans and other standards",
            ("covered", "alternative annotator test and/or human ceiling") if humans
            or "ceiling" in tables else ("not covered", "not calibrated against clinicians"),
        ),
        _item(
            "Methods / Compute",
            "compute or its proxies (cost, calls, time)",
            ("covered", "calls, tokens and cost") if cost
            else ("partly", "calls and tokens; no cost was recorded"),
        ),
        _item(
            "Methods / Open science",
            "availability of the code that reproduces the results",
            ("partly", "the judge package's version; where the code is available is the "
             "authors' to state"),
        ),
        _item(
            "Results / Performance",
            "performance by the pre-specified metrics and/or human evaluation",
            ("covered", "means with intervals" + (", PPI-corrected estimates" if any(
                r["estimate"] is not None for r in tables.get("estimate", [])) else "")),
        ),
    ]  # fmt: skip


def _item(topic: str, asks: str, status: tuple[str, str]) -> Item:
    return Item(topic, asks, *status)
