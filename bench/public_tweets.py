"""Rebuild the public-tweet evaluation sets from fetched snapshots of public repositories.

Tweet text never enters this repository: every output goes to --out (default /work/evaldata),
and the only list kept here, bench/data/rescue_request_ids.txt, holds origin ids, not text.

Each snapshot argument is either a bare git directory as `fetch` leaves it
(/work/.mirror/<owner>+<name>/repo, read with `git show HEAD:<path>`) or a plain directory
holding the repository's files. Give only the sources you have; each output is built from its
own sources and skipped (with a note) when one of them is missing.

    M=/work/.mirror
    python -m bench.public_tweets --out /work/evaldata \\
        --crisislex $M/sajao+CrisisLex/repo \\
        --kaggle $M/Programmer-RD-AI+NLP-Disaster-Tweets/repo \\
        --humaid $M/deeplearning-lab-csueb+LLM-guided-SSL-Crisis-Tweets-Classification/repo \\
        --harveyloc $M/geoai-lab+Geo-knowledge-guided-GPT-models-for-disaster-response/repo \\
        --tweeteval $M/cardiffnlp+tweeteval/repo \\
        --crisisnlp-cf \\
          $M/SusuXu-s-Lab+Hierarchical-Earthquake-Casualty-Information-Retrieval/repo \\
        --crisisnlp-vol $M/profibadan+content-analyzer/repo \\
        --trec-is $M/SnowYJ+TREC-IS-2020/repo

Outputs (JSON lines with text, urgent, category, kind, origin):
  crisislex_t6_offtopic.jsonl        every CrisisLex T6 tweet labelled off-topic
  crisislex_t6_ontopic_sample.jsonl  --sample on-topic T6 tweets, random.Random(--seed)
  kaggle_not_disaster.jsonl          Kaggle "NLP with Disaster Tweets" train.csv, target 0
  kaggle_disaster.jsonl              the same, target 1 (mostly news; urgent=false)
  rescue_requests.jsonl              the hand-picked rescue requests named in --rescue-ids
  rescue_requests_2.jsonl .. _4      three later sets chosen blind (bench/data/*_2.txt .. _4)
  rescue_requests_5.jsonl            a fifth set chosen blind from TREC-IS (needs --trec-is)
  tweeteval_sentiment.jsonl          TweetEval's sentiment test split: ordinary chatter
  tweeteval_emoji.jsonl              10,000 of TweetEval's emoji test split, random.Random(0)

Origins: CrisisLexT6:<event>:<tweet id>, CrisisLexT26:<event>:<tweet id>,
KaggleNLPDisaster:<row id>, HumAID:<event>:<tweet id>, HarveyLocDesc:<row id>,
TweetEval:<task>:<line>, CrisisNLP-CF:<event>:<tweet id>, CrisisNLP-Vol:<event>:<tweet id>,
TREC-IS:<event>:<tweet id>.
The ids file has one `origin<TAB>category` per line; `#` starts a comment.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Iterable
from pathlib import Path

from .tweet_sources import (
    CRISISNLP_CF_DIR,
    CRISISNLP_VOL_DIR,
    KAGGLE_CSV,
    Snapshot,
    crisislex_t6,
    crisislex_t26,
    crisisnlp_cf,
    crisisnlp_volunteers,
    harveyloc,
    humaid,
    kaggle,
    trec_is,
)

HERE = Path(__file__).resolve().parent
IDS = HERE / "data" / "rescue_request_ids.txt"
# Three more sets, chosen in session 13 by helpers that read tweets but never saw the
# model's output: 56 from the unread candidates, then 78 from those still unread, then 61
# from CrisisNLP's files of other events (the README's "rescue requests chosen blind").
LATER_IDS = [(HERE / "data" / "rescue_request_ids_2.txt", "rescue_requests_2.jsonl"),
             (HERE / "data" / "rescue_request_ids_3.txt", "rescue_requests_3.jsonl"),
             (HERE / "data" / "rescue_request_ids_4.txt", "rescue_requests_4.jsonl"),
             (HERE / "data" / "rescue_request_ids_5.txt", "rescue_requests_5.jsonl")]
# The fifth set, chosen the same way, comes from the TREC-IS tweets alone.
TREC_IS_IDS = "rescue_requests_5.jsonl"





def record(text: str, urgent: bool, category: str, kind: str, origin: str) -> dict[str, object]:
    """One output line."""
    return {"text": text, "urgent": urgent, "category": category, "kind": kind,
            "origin": origin}


def write_jsonl(path: Path, rows: Iterable[dict[str, object]]) -> int:
    """Write rows as JSON lines; returns how many."""
    n = 0
    with path.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
            n += 1
    return n




def read_ids(path: Path) -> list[tuple[str, str]]:
    """(origin, category) pairs from the ids file, in order."""
    out: list[tuple[str, str]] = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            origin, _, category = line.partition("\t")
            out.append((origin.strip(), category.strip() or "hazard"))
    return out


def build_t6(snap: Snapshot, out: Path, sample: int, seed: int) -> None:
    """The off-topic file and the seeded on-topic sample."""
    tweets = list(crisislex_t6(snap))
    off = [record(t, False, "other", "offtopic", o) for o, t, lab in tweets if lab == "off-topic"]
    on = [record(t, False, "information", "ontopic", o) for o, t, lab in tweets
          if lab == "on-topic"]
    picked = random.Random(seed).sample(on, min(sample, len(on)))
    print(f"crisislex_t6_offtopic.jsonl: {write_jsonl(out / 'crisislex_t6_offtopic.jsonl', off)}")
    n = write_jsonl(out / "crisislex_t6_ontopic_sample.jsonl", picked)
    print(f"crisislex_t6_ontopic_sample.jsonl: {n} of {len(on)} on-topic")


def build_kaggle(snap: Snapshot, path: str, out: Path) -> None:
    """Both Kaggle files."""
    rows = list(kaggle(snap, path))
    calm = [record(t, False, "other", "offtopic", o) for o, t, y in rows if y == "0"]
    news = [record(t, False, "information", "disaster_news", o) for o, t, y in rows if y == "1"]
    print(f"kaggle_not_disaster.jsonl: {write_jsonl(out / 'kaggle_not_disaster.jsonl', calm)}")
    print(f"kaggle_disaster.jsonl: {write_jsonl(out / 'kaggle_disaster.jsonl', news)}")


def build_rescue(texts: dict[str, str], ids: list[tuple[str, str]], out: Path,
                 name: str = "rescue_requests.jsonl") -> None:
    """The rescue requests named in ids; ids whose source was not given are reported."""
    rows = [record(texts[o], True, cat, "rescue", o) for o, cat in ids if o in texts]
    missing = [o for o, _ in ids if o not in texts]
    n = write_jsonl(out / name, rows)
    print(f"{name}: {n} of {len(ids)} ids")
    if missing:
        print(f"  not found ({len(missing)}), first: {missing[:3]}", file=sys.stderr)


def build_tweeteval(snap: Snapshot, out: Path) -> None:
    """Ordinary chatter: the sentiment test split, and a sample of the emoji test split."""
    for task, size in (("sentiment", None), ("emoji", 10_000)):
        lines = [t.strip() for t in snap.read(f"datasets/{task}/test_text.txt").splitlines()
                 if t.strip()]
        if size:
            lines = random.Random(0).sample(lines, size)
        rows = [record(t, False, "other", "offtopic", f"TweetEval:{task}:{i}")
                for i, t in enumerate(lines)]
        print(f"tweeteval_{task}.jsonl: {write_jsonl(out / f'tweeteval_{task}.jsonl', rows)}")


def main(argv: list[str] | None = None) -> int:
    doc = (__doc__ or "").split("\n\n")
    parser = argparse.ArgumentParser(prog="python -m bench.public_tweets", description=doc[0],
                                     epilog="\n\n".join(doc[1:]),
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("/work/evaldata"),
                        help="output directory, outside the repository")
    parser.add_argument("--crisislex", type=Path, help="sajao/CrisisLex snapshot (T6, T26)")
    parser.add_argument("--kaggle", type=Path, help="a snapshot holding the Kaggle train.csv")
    parser.add_argument("--kaggle-path", default=KAGGLE_CSV, help="train.csv inside --kaggle")
    parser.add_argument("--humaid", type=Path, help="a snapshot holding HumAID's data/original")
    parser.add_argument("--harveyloc", type=Path,
                        help="geoai-lab/Geo-knowledge-guided-GPT-models-for-disaster-response")
    parser.add_argument("--tweeteval", type=Path, help="cardiffnlp/tweeteval snapshot")
    parser.add_argument("--crisisnlp-cf", type=Path, help="a snapshot holding CrisisNLP's "
                        f"CrowdFlower files under {CRISISNLP_CF_DIR}")
    parser.add_argument("--crisisnlp-vol", type=Path, help="a snapshot holding CrisisNLP's "
                        f"volunteer-labelled files under {CRISISNLP_VOL_DIR}")
    parser.add_argument("--trec-is", type=Path, help="SnowYJ/TREC-IS-2020 snapshot (TREC "
                        "Incident Streams tweets under data/)")
    parser.add_argument("--rescue-ids", type=Path, default=IDS, help="origin<TAB>category list")
    parser.add_argument("--sample", type=int, default=2000, help="on-topic T6 sample size")
    parser.add_argument("--seed", type=int, default=0, help="seed of the on-topic sample")
    args = parser.parse_args(argv)

    repo = HERE.parent
    if args.out.resolve().is_relative_to(repo):
        parser.error(f"--out must be outside the repository ({repo}): tweet text stays out")
    args.out.mkdir(parents=True, exist_ok=True)

    texts: dict[str, str] = {}
    if args.crisislex:
        snap = Snapshot(args.crisislex)
        build_t6(snap, args.out, args.sample, args.seed)
        texts.update((o, t) for o, t, _ in crisislex_t6(snap))
        texts.update(crisislex_t26(snap))
    else:
        print("no --crisislex: CrisisLex T6 files skipped", file=sys.stderr)
    if args.kaggle:
        build_kaggle(Snapshot(args.kaggle), args.kaggle_path, args.out)
    else:
        print("no --kaggle: Kaggle files skipped", file=sys.stderr)
    if args.tweeteval:
        build_tweeteval(Snapshot(args.tweeteval), args.out)
    if args.humaid:
        texts.update(humaid(Snapshot(args.humaid)))
    if args.harveyloc:
        texts.update(harveyloc(Snapshot(args.harveyloc)))
    if args.crisisnlp_cf:
        texts.update(crisisnlp_cf(Snapshot(args.crisisnlp_cf)))
    if args.crisisnlp_vol:
        texts.update(crisisnlp_volunteers(Snapshot(args.crisisnlp_vol)))
    if args.trec_is:
        texts.update(trec_is(Snapshot(args.trec_is)))
    if texts and args.rescue_ids.is_file():
        build_rescue(texts, read_ids(args.rescue_ids), args.out)
    for ids, name in LATER_IDS:   # the sets chosen blind
        if name == TREC_IS_IDS and not args.trec_is:
            print(f"no --trec-is: {name} skipped", file=sys.stderr)
            continue
        if texts and ids.is_file():
            build_rescue(texts, read_ids(ids), args.out, name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
