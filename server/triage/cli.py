"""`python -m server triage ...`: check the corpus, train, cross-validate, evaluate."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

from ..rules import load_triage_rules
from . import corpus, training
from .evaluate import judge, report, summary
from .model import TriageModel
from .triager import SHIPPED_MODEL, Triager

DEFAULT_CORPUS = Path("corpus")


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The `triage` command and its subcommands."""
    triage = sub.add_parser("triage", help="train and evaluate the triage model")
    cmds = triage.add_subparsers(dest="triage_command", required=True)
    check = cmds.add_parser("check-corpus", help="validate the corpus and count it")
    check.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    train = cmds.add_parser("train", help="rebuild the model from the corpus (deterministic)")
    train.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    train.add_argument("--extra", type=Path, action="append", default=[],
                       help="more labelled JSONL (e.g. from export-feedback); repeatable")
    train.add_argument("--out", type=Path, default=SHIPPED_MODEL)
    train.add_argument("--folds", type=int, default=5)
    ev = cmds.add_parser("eval", help="evaluate on a labelled JSONL file")
    ev.add_argument("file", type=Path, nargs="?",
                    help="labelled JSONL; default: the corpus's held-out split")
    ev.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ev.add_argument("--model", type=Path, default=SHIPPED_MODEL)
    ev.add_argument("--rules", type=Path, default=None)
    ev.add_argument("--json", action="store_true", help="print the figures as JSON")
    fb = cmds.add_parser("export-feedback",
                         help="write reports of resolved incidents, labelled by their outcome")
    fb.add_argument("--out", type=Path, required=True, help="the JSONL file to write")
    cv = cmds.add_parser("cv", help="k-fold figures over the training split")
    cv.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    cv.add_argument("--folds", type=int, default=5)
    cv.add_argument("--rules", type=Path, default=None)
    cv.add_argument("--json", action="store_true")


def run(args: argparse.Namespace) -> int:
    """Run one triage subcommand; the exit status."""
    handler = {"check-corpus": _check, "train": _train, "eval": _eval, "cv": _cv}
    return handler[args.triage_command](args)


def _check(args: argparse.Namespace) -> int:
    files = corpus.corpus_files(args.corpus)
    total: Counter[str] = Counter()
    for path in files:
        exs = list(corpus.read_jsonl(path))
        dupes = len(exs) - len({e.key for e in exs})
        print(f"{path}: {len(exs)} posts, {sum(e.urgent for e in exs)} urgent, "
              f"{dupes} duplicate texts")
        total.update(f"{'urgent' if e.urgent else 'calm'}:{e.category}" for e in exs)
    examples = corpus.load(files)
    train, held = corpus.split(examples)
    print(f"\n{len(examples)} distinct posts: {len(train)} training, {len(held)} held out; "
          f"{sum(e.lang != 'en' for e in examples)} not in English")
    for key, n in sorted(total.items()):
        print(f"  {key:<32} {n}")
    return 0


def _training_examples(args: argparse.Namespace) -> list[corpus.Example]:
    train, _ = corpus.split(corpus.load(corpus.corpus_files(args.corpus)))
    extra = corpus.load(args.extra) if getattr(args, "extra", None) else []
    return train + extra


def _train(args: argparse.Namespace) -> int:
    started = time.monotonic()
    examples = _training_examples(args)
    exs, scores = training.out_of_fold(examples, args.folds)
    urgent = np.array([e.urgent for e in exs])
    cal = training.calibrate(urgent, scores)
    model = training.fit(examples)
    model.meta = {"thresholds": cal.as_meta(), "trained_on": {
        "posts": len(exs), "urgent": int(urgent.sum()),
        "category_only": sum(e.category_only for e in training.ordered(examples)),
        "digest": training.corpus_digest(examples),
        "extra": [p.name for p in args.extra]}}
    model.save(args.out)
    print(f"trained on {len(exs)} posts ({int(urgent.sum())} urgent; and "
          f"{model.meta['trained_on']['category_only']} for the category head only) in "
          f"{time.monotonic() - started:.0f} s -> {args.out}")
    print(f"thresholds (from {args.folds}-fold out-of-fold scores): alert {cal.alert:.3f} "
          f"(recall {cal.recall_alert:.1%}, calm alerting {cal.false_alert:.1%}), "
          f"review {cal.review:.3f} (recall {cal.recall_review:.1%})")
    return 0


def _eval(args: argparse.Namespace) -> int:
    triager = Triager(TriageModel.load(args.model), load_triage_rules(args.rules))
    if args.file is None:
        _, examples = corpus.split(corpus.load(corpus.corpus_files(args.corpus)))
    else:
        examples = list(corpus.read_jsonl(args.file, strict=False))
    s = summary(judge(triager, examples))
    print(json.dumps(s, indent=1) if args.json else report(s))
    return 0


def _cv(args: argparse.Namespace) -> int:
    rules = load_triage_rules(args.rules)
    shipped = TriageModel.load(SHIPPED_MODEL)
    examples = training.ordered(_training_examples(args))
    judged = []
    for f in range(args.folds):
        model = training.fit([e for e in examples if training.fold_of(e, args.folds) != f])
        model.meta = shipped.meta  # the shipped thresholds, to judge as shipped
        held = [e for e in examples if training.fold_of(e, args.folds) == f]
        judged += judge(Triager(model, rules), held)
        print(f"fold {f + 1}/{args.folds} done", file=sys.stderr)
    s = summary(judged)
    print(json.dumps(s, indent=1) if args.json else report(s))
    return 0
