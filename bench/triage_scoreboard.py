"""Issue 9's figures in one table: the held-out split, every blind set and the public tweets.

    python -m bench.triage_scoreboard [--model DIR] [--rules FILE] [--evaldata DIR]
                                      [--verdicts OUT.jsonl]

Per set: urgent posts at P1, alerting (P1/P2) and left at P4; calm posts alerting and at
review or above. The public tweet sets are read from --evaldata (what `bench.public_tweets`
writes; missing files are skipped with a note), so no tweet text enters the repository.
--verdicts keeps every post's verdict (text included) outside it, for reading the misses.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from server.rules import load_triage_rules
from server.triage import corpus
from server.triage.evaluate import Judged, judge, summary
from server.triage.triager import SHIPPED_MODEL, Triager, load_model

from .common import ROOT

CORPUS = ROOT / "corpus"
TWEETS = ("rescue_requests", "rescue_requests_2", "rescue_requests_3", "rescue_requests_4",
          "rescue_requests_5", "crisislex_t6_offtopic", "kaggle_not_disaster",
          "tweeteval_sentiment")


@dataclass(frozen=True)
class Row:
    """One set's figures, as `triage eval` computes them (None where the set has no posts
    of that kind)."""

    name: str
    urgent: int
    p1: float | None
    alert: float | None
    at_p4: int
    calm: int
    calm_alert: float | None
    calm_seen: float | None   # at review or above


def figures(name: str, judged: Sequence[Judged]) -> Row:
    s = summary(judged)
    urgent, calm = s["urgent"], s["calm"]

    def pct(share: float, n: int) -> float | None:
        return 100.0 * share if n else None

    return Row(name, urgent, pct(s["urgent_p1"], urgent), pct(s["urgent_alert"], urgent),
               s["urgent_p4"], calm, pct(s["calm_alert"], calm),
               pct(s["calm_alert"] + s["calm_review"], calm))


def sets(evaldata: Path) -> dict[str, list[corpus.Example]]:
    """The held-out split, corpus/blind/*.jsonl and whichever tweet sets are present."""
    _, held = corpus.split(corpus.load(corpus.corpus_files(CORPUS)))
    found = {"held-out": held}
    for path in sorted((CORPUS / "blind").glob("*.jsonl")):
        found[f"blind {path.stem}"] = list(corpus.read_jsonl(path))
    for name in TWEETS:
        path = evaldata / f"{name}.jsonl"
        if path.exists():
            found[name] = list(corpus.read_jsonl(path, strict=False))
        else:
            print(f"(skipped {name}: no {path})", file=sys.stderr)
    return found


def _cell(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def table(rows: Sequence[Row]) -> str:
    lines = [f"{'set':24} {'urgent':>6} {'P1%':>6} {'alert%':>6} {'P4':>3} {'calm':>6} "
             f"{'alert%':>6} {'seen%':>6}"]
    lines += [f"{r.name:24} {r.urgent:6} {_cell(r.p1):>6} {_cell(r.alert):>6} {r.at_p4:3} "
              f"{r.calm:6} {_cell(r.calm_alert):>6} {_cell(r.calm_seen):>6}" for r in rows]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.triage_scoreboard",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, default=SHIPPED_MODEL)
    parser.add_argument("--rules", type=Path, default=None, help="default: the shipped rules")
    parser.add_argument("--evaldata", type=Path, default=Path("/work/evaldata"))
    parser.add_argument("--verdicts", type=Path, default=None)
    args = parser.parse_args(argv)
    triager = Triager(load_model(args.model), load_triage_rules(args.rules))
    rows: list[Row] = []
    blind: list[Judged] = []
    out = args.verdicts.open("w") if args.verdicts else None
    try:
        for name, examples in sets(args.evaldata).items():
            judged = judge(triager, examples)
            rows.append(figures(name, judged))
            if name.startswith("blind "):
                blind += judged
            for j in judged:
                if out is None:
                    break
                out.write(json.dumps({"set": name, "text": j.example.text,
                                      "urgent": j.example.urgent, "kind": j.example.kind,
                                      "priority": j.verdict.priority.value,
                                      "score": j.verdict.score}) + "\n")
    finally:
        if out is not None:
            out.close()
    rows.append(figures("all blind sets", blind))
    print(table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
