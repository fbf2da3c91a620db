"""Which of many regular expressions can match a text, found in one pass over it.

Every post is tried against every `raise` rule, since a cry for help must never miss one,
and at 1-8 us a pattern that was a fifth of triage's time (`make bench`); every post that
alerts is then read by the category, urgency and chatter rules (~65 us). Most patterns can
only match where one of a set of literal strings starts ("shots fired", "smoke alarm",
"trapped"): an Aho-Corasick automaton of those strings finds the few patterns worth
running in one pass over the post, and only those run. A pattern whose matches cannot be
pinned to such strings is always run: the filter only ever skips a pattern that cannot
match (tests/test_prefilter.py checks this against every post of the corpus and random
patterns).

The strings are read from the pattern's parse tree (the standard library's own parser),
so a force's rules file needs nothing extra.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Sequence
from typing import Any

import ahocorasick

# The standard library's regular-expression parser: private, but the one `re.compile`
# uses, so it reads a pattern exactly as it is compiled (typeshed has no stub for it).
_PARSER: Any = importlib.import_module("re._parser")
_OPS: Any = importlib.import_module("re._constants")

NEEDLE_CHARS = 12    # a literal start this long is rare in a post (at 5, floors ran 5x as often)
MAX_NEEDLES = 2000   # per pattern: an item that would make more is not read (starts stay short)
MAX_CLASS = 16       # a character class of at most this many single characters is expanded

_Starts = frozenset[str]


def literal_starts(pattern: re.Pattern[str]) -> frozenset[str] | None:
    """Strings (of at most NEEDLE_CHARS) one of which every match of `pattern` begins
    with; None if the pattern can begin with anything or the set would be too large."""
    if pattern.flags & re.IGNORECASE:
        return None   # every case of every string would be needed
    tree = _PARSER.parse(pattern.pattern, pattern.flags)
    starts, _ = _extend(list(tree), frozenset({""}))
    cut = frozenset(s[:NEEDLE_CHARS] for s in starts)
    return None if "" in cut else cut


def _extend(items: list[tuple[Any, Any]], starts: _Starts) -> tuple[_Starts, bool]:
    """Each start extended through `items` as far as they are literal; and whether all of
    `items` was read (False: the starts are prefixes of what matches, no more)."""
    for op, arg in items:
        if all(len(s) >= NEEDLE_CHARS for s in starts):
            return starts, False
        if op is _OPS.AT or op is _OPS.ASSERT or op is _OPS.ASSERT_NOT:
            continue   # zero width (\b, ^, lookarounds): the next character still starts
        if op is _OPS.LITERAL:
            starts = frozenset(s + chr(arg) for s in starts)
            continue
        branches, whole = _branches(op, arg)
        if branches is None:
            return starts, False
        ends: set[str] = set()
        for branch in branches:
            branch_ends, read = _extend(branch, frozenset({""}))
            whole = whole and read
            ends |= branch_ends
        if len(starts) * len(ends) > MAX_NEEDLES:   # checked before the strings are made
            return starts, False
        starts = frozenset(s + e for s in starts for e in ends)
        if not whole:
            return starts, False
    return starts, True


def _branches(op: Any, arg: Any) -> tuple[list[list[tuple[Any, Any]]] | None, bool]:
    """What an item can match as alternative item lists, and whether reading them reads
    the whole item; (None, False) for an item that is not read at all."""
    if op is _OPS.SUBPATTERN:
        _group, add_flags, _del_flags, body = arg
        if add_flags & re.IGNORECASE:
            return None, False
        return [list(body)], True
    if op is _OPS.BRANCH:
        return [list(b) for b in arg[1]], True
    if op is _OPS.MAX_REPEAT or op is _OPS.MIN_REPEAT:
        low, high, body = arg
        if low == 0 and high == 1:          # x?: nothing, or x once
            return [[], list(body)], True
        if low >= 1:                        # x+, x{2,}: x at least once, then more
            return [list(body)], False
        return None, False
    if op is _OPS.IN:
        chars = _class_chars(arg)
        if chars is not None:
            return [[(_OPS.LITERAL, c)] for c in chars], True
    return None, False


def _class_chars(members: list[tuple[Any, Any]]) -> list[int] | None:
    """The characters of a class made of single characters and ranges ("[.!]", "[1-9]"),
    if there are at most MAX_CLASS; None for a negated class, a category (\\w) or more."""
    chars: list[int] = []
    for op, arg in members:
        if op is _OPS.LITERAL:
            chars.append(arg)
        elif op is _OPS.RANGE:
            low, high = arg
            chars.extend(range(low, high + 1))
        else:
            return None
        if len(chars) > MAX_CLASS:
            return None
    return chars


class Prefilter:
    """The indices of those `patterns` that may match a text (all that do, at least)."""

    def __init__(self, patterns: Sequence[re.Pattern[str]]) -> None:
        always: set[int] = set()
        owners: dict[str, set[int]] = {}
        for i, pattern in enumerate(patterns):
            starts = literal_starts(pattern)
            if starts is None:
                always.add(i)
                continue
            for start in starts:
                owners.setdefault(start, set()).add(i)
        self.always = frozenset(always)
        self._automaton: Any = None
        if owners:
            automaton = ahocorasick.Automaton()
            for start, indices in owners.items():
                automaton.add_word(start, frozenset(indices))
            automaton.make_automaton()
            self._automaton = automaton

    def candidates(self, text: str) -> set[int]:
        """The patterns to run on `text`: those always run, and those whose literal starts
        occur in it."""
        found = set(self.always)
        if self._automaton is not None:
            for _end, indices in self._automaton.iter(text):
                found |= indices
        return found
