"""The report's answer, shown before its evidence: what ran and the headline numbers in one
sentence, then each section's verdict in one sentence (its first), linked by title.

Every sentence here is one a section already says (the summary's, each section's first) or is
written from provenance's numbers (what ran), so it is the same wherever it appears; report.json
keeps it under ``headline``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from html import escape
from typing import Any

from ..text.formatting import fmt_seeds
from ..text.transfer import PER_SEED_LEFT_OUT
from .section import Section


@dataclass(frozen=True)
class Verdict:
    """A section's first sentence, the section's title and how many sentences it says besides."""

    section: str
    title: str
    sentence: str
    more: int


@dataclass(kw_only=True)
class AnswerSection(Section):
    """The answer first: ``headline`` (``what_ran`` and the summary's first sentence), the
    summary's sentences (``answer``) and one :class:`Verdict` per other section."""

    headline: str
    what_ran: str
    answer: list[str]
    verdicts: list[Verdict]

    def json(self) -> dict[str, Any]:
        return {"headline": {"sentence": self.headline, "what_ran": self.what_ran, "answer": self.answer,
                             "verdicts": [v.__dict__ for v in self.verdicts]}}

    def intro(self) -> list[str]:
        # HTML, so that the headline is one element a browser test can find (class rsb-headline)
        rest = "".join(f"<li>{escape(s)}</li>" for s in self.answer[1:])
        return [f'<p class="rsb-headline"><strong>{escape(self.what_ran)}</strong> '
                f"{escape(self.answer[0]) if self.answer else ''}</p>" + (f"<ul>{rest}</ul>" if rest else "")]

    def after(self) -> list[str]:
        lines = [f"- **{v.title}**: {v.sentence}" + (f" *(+{v.more} more in its section)*" if v.more else "")
                 for v in self.verdicts]
        return ["**Verdicts**, one sentence a section (the evidence follows, section by section):\n\n"
                + "\n".join(lines)] if lines else []


def what_ran(prov: Mapping[str, Any]) -> str:
    """'seeds-a2-n100: 100 trials of A2 (resnet10t on digits, 30 epochs), seed 0–99.' from
    :func:`analysis.groups.provenance.provenance`'s record."""
    const, varied = prov["constant_hyperparameters"], prov["varied_hyperparameters"]

    def value(key: str) -> str:
        return str(const[key]) if key in const else "/".join(map(str, varied.get(key, [])))

    recipes = "/".join(str(r).upper() for r in prov["recipes"]) or "one configuration"
    desc = " on ".join(v for v in (value("model"), value("dataset")) if v)
    if value("epochs"):
        desc = ", ".join(v for v in (desc, f"{value('epochs')} epochs") if v)
    what = f"{prov['n_trials']} trials of {recipes}" + (f" ({desc})" if desc else "")
    others = [k for k in varied if k not in ("model", "dataset", "epochs", "recipe")]
    if others:
        what += ", varying " + ", ".join(f"{k} over {len(varied[k])} values" for k in others)
    seed = prov["seeds"].get("seed")
    if seed:
        what += ", " + fmt_seeds(seed["distinct"], seed["min"], seed["max"])
    return f"{', '.join(prov['experiment'])}: {what}."


def answer_section(sections: Iterable[Section], titles: Mapping[str, str]) -> AnswerSection:
    """The answer of the report from its sections (:func:`analysis.sections.report_sections`):
    provenance's what-ran sentence, the summary's sentences, every other section's first."""
    by_name = {s.name: s for s in sections if s.name is not None}
    answer = list(by_name["summary"].sentences) if "summary" in by_name else []
    if not answer and "transfer" in by_name:  # a transfer study has no per-seed summary (issue 20)
        said = by_name["transfer"].sentences
        answer = list(said[:1]) + [s for s in said[1:] if s == PER_SEED_LEFT_OUT]
    ran = what_ran(by_name["provenance"].data) if "provenance" in by_name else ""
    verdicts = [Verdict(section=name, title=titles.get(name, name), sentence=sec.sentences[0],
                        more=len(sec.sentences) - 1)
                for name, sec in by_name.items() if name != "summary" and sec.sentences]
    headline = " ".join(s for s in (ran, answer[0] if answer else "") if s)
    return AnswerSection(headline=headline, what_ran=ran, answer=answer, verdicts=verdicts)
