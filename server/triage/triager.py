"""The triage port's implementation: the shipped (or a force's) model plus the rules file."""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

from ..domain.records import Triage
from ..domain.rulebook import TriageRules, match_rules
from ..domain.triage import PostContext, decide
from . import language
from .language import detect
from .model import TriageModel
from .text import for_model, words

SHIPPED_MODEL = Path(__file__).parent / "weights"
# The language check counts a word as English only if it is at least this many times as
# common in the corpus as its rarest words (about 40 posts; 977 words): mixed-language
# posts (a Spanglish rescue request) put common Spanish or Tagalog words in the vocabulary
# ("ayuda", "calle"), and a Spanish post must not pass as English on them. (At 4, half of
# a plain Spanish cry for help counted as English once half the words were enough.)
COMMON = 16.0
# The words whose rows Triager.fill makes ahead: all of the shipped model's 11,897 single
# words (a retrained model with more: its commonest 12,000). Half of them was nine in ten
# words of a post, yet the first pass after the warm-up ran at 0.6-0.7x of the warm rate;
# all of them, 0.75-0.8x (`python -m bench --only triage`, session 12), for 6 MB more.
FILL_WORDS = 12000


class ModelError(ValueError):
    """The model files are missing or do not fit together."""


@cache
def load_model(folder: Path = SHIPPED_MODEL) -> TriageModel:
    """The model in folder, loaded once per process (it is read-only once loaded). WordLlama
    is loaded on first use or by Triager.warm (the server warms it after start-up)."""
    try:
        return TriageModel.load(folder)
    except (OSError, ValueError, KeyError) as exc:
        raise ModelError(f"triage model {folder}: {exc}") from None


class Triager:
    """Decides one post: language, the model's score, then the rules."""

    def __init__(self, model: TriageModel, rules: TriageRules) -> None:
        self.model, self.rules = model, rules
        calibrated = model.meta.get("thresholds", {})
        alert = rules.thresholds.alert
        review = rules.thresholds.review
        self.alert_at = float(alert if alert is not None else calibrated.get("alert", 0.5))
        self.review_at = float(review if review is not None else calibrated.get("review", 0.2))
        if self.review_at > self.alert_at:
            raise ModelError(f"review threshold {self.review_at} is above the alert "
                             f"threshold {self.alert_at}")
        space = model.features.word
        rarest = float(space.idf.max()) if len(space) else 0.0
        self._english = frozenset(t for t, i in space.index.items()
                                  if " " not in t and rarest - space.idf[i] >= math.log(COMMON))
        near = rules.thresholds
        self._look_near = (None if near.review_near is None
                           else (self.review_at, near.review_near_from))
        self._bare: dict[str, PostContext] = {}

    def warm(self) -> None:
        """Load WordLlama (~0.4 s) and the language identifier (~0.6 s) now: the server
        calls this in a worker thread once it is ready, so that neither start-up nor the
        first post, perhaps an emergency, waits. The identifier loaded on the first post
        that needed it before session 12: a third of ordinary posts do, and that load held
        the event loop (every push, step and acknowledgement) for 0.6 s."""
        _ = self.model.features.embedder
        language.load_identifier()

    def fill(self) -> Iterator[None]:
        """Make ahead, a step at a time, what the first posts would make one by one: the
        compiled rules, then the rows of the FILL_WORDS commonest words (~0.25 s in all).
        The server runs the steps on its event loop once warm has loaded WordLlama, with
        posts let through between them (see TriageModel.fill_word_rows)."""
        match_rules("", self.rules)
        yield
        # The rules' prefilters (domain/prefilter.py), ~30 ms each, else built by the first post
        _ = self.rules.floor_filter
        yield
        _ = self.rules.downgrade_filter
        yield
        yield from self.model.fill_word_rows(FILL_WORDS)

    def language(self, text: str, given: str | None,
                 tokens: Sequence[str] | None = None) -> str:
        """The post's language: the connector's tag (en-GB -> en) if it names one the model
        does not read, else detected. A tag naming one it reads is checked, not trusted:
        Bluesky's and Mastodon's tags are the poster's app settings as often as the post's
        language, and a Polish cry for help tagged "en" must not be scored as English."""
        tag = given.split("-")[0].split("_")[0].lower() if given else None
        if tag and tag not in self.rules.languages:
            return tag
        return detect(text, self._english, self.rules.languages, tokens=tokens,
                      vocab=self.model.features.word.index)

    def triage(self, text: str, ctx: PostContext | None = None) -> Triage:
        """The verdict for one post."""
        tokens = words(for_model(text))
        lang = self.language(text, ctx.lang if ctx else None, tokens)
        # dataclasses.replace costs as much as the language check: skipped when it would
        # change nothing, and the context-free one is made once per language.
        if ctx is None:
            ctx = self._bare.get(lang) or self._bare.setdefault(lang, PostContext(lang=lang))
        elif ctx.lang != lang:
            ctx = replace(ctx, lang=lang)
        assessment = (self.model.assess(text, cues_from=self.review_at, tokens=tokens,
                                        look_near=self._look_near)
                      if lang in self.rules.languages else None)
        return decide(text, assessment, ctx, self.rules, self.alert_at, self.review_at)

    def is_news_link(self, links: Iterable[str]) -> bool:
        """True if any link points at a news site named in the rules (subdomains too)."""
        domains = self.rules.context.news_domains
        for link in links:
            host = (urlsplit(link).hostname or "").lower()
            parts = host.split(".")
            if any(".".join(parts[i:]) in domains for i in range(len(parts) - 1)):
                return True
        return False
