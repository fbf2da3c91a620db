"""Readers of the public tweet corpora that `bench.public_tweets` builds its evaluation sets
from: each yields (origin, text[, label]) from a fetched snapshot of the corpus's repository.
Tweet text is read here and written only outside the repository (public_tweets.py)."""

from __future__ import annotations

import csv
import gzip
import io
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

T6_DIR = "data/CrisisLexT6"
T26_DIR = "data/CrisisLexT26"
KAGGLE_CSV = "ML/data/train.csv"
HUMAID_DIR = "data/original"
HARVEYLOC_FILE = "data/tweetTextAndAnnotation_combined.txt"
CRISISNLP_CF_DIR = "data/CrisisNLP_labeled_data_crowdflower"
CRISISNLP_VOL_DIR = "data/CrisisNLP_volunteers_labeled_data"
TREC_IS_DIR = "data"

csv.field_size_limit(sys.maxsize)


class Snapshot:
    """Files of one repository, from a bare git directory or a plain directory."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.bare = (root / "HEAD").is_file() and (root / "objects").is_dir()

    def paths(self, prefix: str) -> list[str]:
        """Every file path under prefix, sorted."""
        if self.bare:
            out = self._git("ls-tree", "-r", "--name-only", "HEAD", "--", prefix)
            return sorted(out.splitlines())
        base = self.root / prefix
        return sorted(str(p.relative_to(self.root)) for p in base.rglob("*") if p.is_file())

    def read(self, path: str) -> str:
        """One file as text (undecodable bytes replaced)."""
        return self.read_bytes(path).decode("utf-8", errors="replace")

    def read_bytes(self, path: str) -> bytes:
        """One file's bytes (for compressed files)."""
        if self.bare:
            return self._git_bytes("show", f"HEAD:{path}")
        return (self.root / path).read_bytes()

    def _git(self, *args: str) -> str:
        return self._git_bytes(*args).decode("utf-8", errors="replace")

    def _git_bytes(self, *args: str) -> bytes:
        done = subprocess.run(["git", f"--git-dir={self.root}", *args], check=True,
                              capture_output=True)
        return done.stdout


def _event(path: str) -> str:
    return path.split("/")[-2]


def _tweet_id(raw: str) -> str:
    return raw.strip().strip("'\"")


def _csv_rows(snap: Snapshot, folder: str, suffix: str) -> Iterator[tuple[str, list[str]]]:
    """(path, row) for every data row of the CSV files under folder ending in suffix."""
    for path in snap.paths(folder):
        if path.endswith(suffix):
            rows = csv.reader(io.StringIO(snap.read(path)))
            next(rows, None)  # the header
            for row in rows:
                yield path, row


def crisislex_t6(snap: Snapshot) -> Iterator[tuple[str, str, str]]:
    """(origin, text, label) for every T6 tweet; label is on-topic or off-topic."""
    for path, row in _csv_rows(snap, T6_DIR, "-ontopic_offtopic.csv"):
        if len(row) >= 3 and row[1].strip():
            yield f"CrisisLexT6:{_event(path)}:{_tweet_id(row[0])}", row[1], row[2].strip()


def crisislex_t26(snap: Snapshot) -> Iterator[tuple[str, str]]:
    """(origin, text) for every labelled T26 tweet."""
    for path, row in _csv_rows(snap, T26_DIR, "-tweets_labeled.csv"):
        if len(row) >= 2 and row[1].strip():
            yield f"CrisisLexT26:{_event(path)}:{_tweet_id(row[0])}", row[1]


def kaggle(snap: Snapshot, path: str) -> Iterator[tuple[str, str, str]]:
    """(origin, text, target) for every row of the Kaggle train.csv."""
    for row in csv.DictReader(io.StringIO(snap.read(path))):
        yield f"KaggleNLPDisaster:{row['id']}", row["text"], row["target"].strip()


def humaid(snap: Snapshot) -> Iterator[tuple[str, str]]:
    """(origin, text) for every tweet of the HumAID event train/dev/test files."""
    for path in snap.paths(HUMAID_DIR):
        name = path.rsplit("/", 1)[-1]
        event = _event(path)
        if name not in {f"{event}_{split}.tsv" for split in ("train", "dev", "test")}:
            continue
        rows = csv.DictReader(io.StringIO(snap.read(path)), delimiter="\t",
                              quoting=csv.QUOTE_NONE)
        for row in rows:
            yield f"HumAID:{event}:{row['tweet_id']}", row["tweet_text"]


def harveyloc(snap: Snapshot) -> Iterator[tuple[str, str]]:
    """(origin, text) for the 1,000 Hurricane Harvey tweets of Hu et al. (2023)."""
    for line in snap.read(HARVEYLOC_FILE).splitlines()[1:]:
        parts = line.split("||")
        if len(parts) >= 2:
            yield f"HarveyLocDesc:{parts[0].removesuffix('.txt')}", parts[1]


# CrisisNLP's files name events their own way; the ids file uses these names.
CRISISNLP_EVENTS = {
    "2013_Pakistan_eq": "2013_Pakistan_eq",
    "2014_California_Earthquake": "2014_California_Earthquake",
    "2014_Chile_Earthquake_en": "2014_Chile_Earthquake",
    "2014_Hurricane_Odile_Mexico_en": "2014_Hurricane_Odile",
    "2014_India_floods": "2014_India_floods",
    "2014_Pakistan_floods": "2014_Pakistan_floods",
    "2014_Philippines_Typhoon_Hagupit_en": "2014_Typhoon_Hagupit",
    "2014_Typhoon_Hagupit_en": "2014_Typhoon_Hagupit",
    "2015_Cyclone_Pam_en": "2015_Cyclone_Pam",
    "2015_Nepal_Earthquake_en": "2015_Nepal_Earthquake",
    "Landslides_Worldwide_en": "Landslides_Worldwide",
}


def crisisnlp_cf(snap: Snapshot) -> Iterator[tuple[str, str]]:
    """(origin, text) for CrisisNLP's CrowdFlower-labelled tweets (Imran et al., LREC 2016):
    `<event>_CF_labeled_data.tsv`, tweet id, text, ..., label."""
    for path in snap.paths(CRISISNLP_CF_DIR):
        key = path.rsplit("/", 1)[-1].removesuffix("_CF_labeled_data.tsv")
        if not path.endswith("_CF_labeled_data.tsv") or key not in CRISISNLP_EVENTS:
            continue
        for line in snap.read(path).split("\n")[1:]:
            parts = line.split("\t")
            if len(parts) >= 3:
                yield f"CrisisNLP-CF:{CRISISNLP_EVENTS[key]}:{_tweet_id(parts[0])}", parts[1]


def crisisnlp_volunteers(snap: Snapshot) -> Iterator[tuple[str, str]]:
    """(origin, text) for CrisisNLP's volunteer-labelled tweets: `<event>/<event>.csv`,
    the tweet id first and the text eighth."""
    for path in snap.paths(CRISISNLP_VOL_DIR):
        key = path.rsplit("/", 1)[-1].removesuffix(".csv")
        if not path.endswith(".csv") or key not in CRISISNLP_EVENTS:
            continue
        # Universal newlines: some of these files end lines with a bare carriage return.
        rows = csv.reader(io.StringIO(snap.read(path), newline=None))
        next(rows, None)  # the header
        for row in rows:
            if len(row) >= 10:
                yield f"CrisisNLP-Vol:{CRISISNLP_EVENTS[key]}:{_tweet_id(row[0])}", row[7]


def trec_is(snap: Snapshot) -> Iterator[tuple[str, str]]:
    """(origin, text) for the TREC Incident Streams 2018-2019 tweets (McCreadie et al.) as
    SnowYJ/TREC-IS-2020 keeps them: `data/past.<event>.json.gz` and
    `data/test/trecis2019-A-test.<event>.json.gz`, one JSON tweet a line with `topic` and
    `allProperties.id` / `allProperties.text`. Files missing from the snapshot are skipped."""
    for path in snap.paths(TREC_IS_DIR):
        if not path.endswith(".json.gz"):
            continue
        try:
            raw = gzip.decompress(snap.read_bytes(path))
        except (OSError, EOFError, subprocess.CalledProcessError):
            continue  # a large file the snapshot lists but does not hold
        for line in raw.decode("utf-8", errors="replace").splitlines():
            if not line.strip():
                continue
            tweet = json.loads(line)
            props = tweet.get("allProperties", {})
            text = props.get("text") or props.get("content") or ""
            if text.strip() and props.get("id"):
                yield f"TREC-IS:{tweet.get('topic', '')}:{props['id']}", text
