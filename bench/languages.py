"""How often the language check lets a post in another language through as English.

A post read as English is scored by a model that cannot read it and may end at P4, where
nobody sees it; a post read as another language goes to review. This measures the first
on lingua-py's test data (sentences, and pairs of words for short posts: 74 languages
besides English), read from a fetched snapshot and never copied into this repository:

    python -m bench.languages /work/.mirror/pemistahl+lingua-py/repo [--per-language 300]

The argument is a bare git directory as `fetch` leaves it or a plain checkout. Prints, for
sentences and for word pairs, how many in other languages were read as English (worst
languages first), how many English ones were not, and the share that asked py3langid.
"""

from __future__ import annotations

import argparse
import subprocess
from collections import Counter
from collections.abc import Collection
from pathlib import Path

from server.rules import load_triage_rules
from server.triage import language
from server.triage.triager import Triager, load_model

KINDS = ("sentences", "word-pairs")


def _files(root: Path, kind: str) -> dict[str, list[str]]:
    """Language code -> lines, from a checkout or a bare git directory."""
    folder = f"language-testdata/{kind}"
    if (root / folder).is_dir():
        return {p.stem: p.read_text(encoding="utf-8").splitlines()
                for p in sorted((root / folder).glob("*.txt"))}
    names = subprocess.run(["git", "-C", str(root), "ls-tree", "--name-only", f"HEAD:{folder}"],
                           check=True, capture_output=True, text=True).stdout.split()
    return {Path(n).stem: subprocess.run(
        ["git", "-C", str(root), "show", f"HEAD:{folder}/{n}"], check=True,
        capture_output=True, text=True).stdout.splitlines() for n in names}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("lingua", type=Path, help="a snapshot of pemistahl/lingua-py")
    parser.add_argument("--per-language", type=int, default=300)
    args = parser.parse_args()
    triager = Triager(load_model(), load_triage_rules(None))
    asked = [0]
    identify = language._identify

    def counting(text: str, reads: Collection[str] = ("en",)) -> language.Ranked:
        asked[0] += 1
        return identify(text, reads)

    language._identify = counting   # counted, not changed: the same answers
    for kind in KINDS:
        read_as_english: Counter[str] = Counter()
        total = english_missed = english_total = 0
        asked[0] = 0
        for lang, lines in _files(args.lingua, kind).items():
            for text in (t.strip() for t in lines[:args.per_language]):
                found = triager.language(text, None)
                if lang == "en":
                    english_total += 1
                    english_missed += found != "en"
                else:
                    total += 1
                    read_as_english[lang] += found == "en"
        wrong = sum(read_as_english.values())
        worst = ", ".join(f"{k} {v}" for k, v in read_as_english.most_common(8) if v)
        print(f"{kind}: {wrong} of {total} in other languages read as English "
              f"({100 * wrong / max(total, 1):.1f}%; most: {worst or 'none'}); English not "
              f"read as English: {english_missed} of {english_total}; asked py3langid: "
              f"{100 * asked[0] / max(total + english_total, 1):.0f}%")


if __name__ == "__main__":
    main()
