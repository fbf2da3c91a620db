"""Command line: serve, token, import-neighbourhoods, demo, verify-audit."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from pathlib import Path

from aiohttp import web

from . import logs
from .adapters.sqlite.owner import StoreInUse
from .app import create_app, make_store
from .auth import mint_token, token_id
from .domain.errors import DomainError
from .domain.model import Role
from .http import serve
from .http.neighbourhoods import summary_json
from .ports import SystemClock
from .services.audit import AuditLog
from .services.geofence import GeofenceService
from .services.neighbourhoods import NeighbourhoodService
from .settings import Settings, SettingsError
from .triage import cli as triage_cli
from .triage.corpus import CorpusError
from .triage.triager import ModelError

# A minted token cannot be revoked before it expires: keep its life to a week at most.
MAX_TTL_S = 7 * 24 * 3600


def _ttl(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a number of seconds") from None
    if not 60 <= value <= MAX_TTL_S:
        raise argparse.ArgumentTypeError(f"must be between 60 and {MAX_TTL_S} seconds")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m server", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="serve the API (settings from BLUELIGHT_* variables)")
    token = sub.add_parser("token", help="mint a bearer token for the embedded auth")
    token.add_argument("--role", required=True, choices=[r.value for r in Role])
    token.add_argument("--sub", required=True, help="subject: a user or officer id")
    token.add_argument("--source", action="append", default=[], dest="sources",
                       help="an ingest token may write only this source (repeatable)")
    token.add_argument("--ttl", type=_ttl, default=12 * 3600,
                       help=f"seconds, 60 to {MAX_TTL_S} (default 12 h)")
    imp = sub.add_parser("import-neighbourhoods", help="import a GeoJSON FeatureCollection")
    imp.add_argument("file", type=Path)
    imp.add_argument("--id-property", required=True)
    imp.add_argument("--name-property", required=True)
    imp.add_argument("--repair", action="store_true", help="repair invalid geometries")
    sub.add_parser("demo", help="replay a surge and a lone cry for help on a throwaway store")
    audit = sub.add_parser("verify-audit",
                           help="check the audit log's hash chain (exit 1 if broken)")
    audit.add_argument("--anchor", metavar="SEQ:HASH",
                       help="a head printed by an earlier run: detects a truncated tail")
    triage_cli.add_parser(sub)
    return parser


def _serve(settings: Settings) -> None:
    app = create_app(settings)
    url = f"http://{settings.host}:{settings.port}"

    async def announce(_: web.Application) -> None:
        print(f"Bluelight serving on {url} (store: {settings.store_url})", flush=True)
        print("Mint a token:  .venv/bin/python -m server token --role admin --sub you",
              flush=True)

    app.on_startup.append(announce)
    serve.run(app, settings)


async def _import(settings: Settings, args: argparse.Namespace) -> int:
    store = make_store(settings)
    await store.open()
    try:
        collection = json.loads(args.file.read_text(encoding="utf-8"))
        total = len(collection.get("features", [])) if isinstance(collection, dict) else 0
        service = NeighbourhoodService(store, GeofenceService(store))
        from tqdm import tqdm  # here, not at the top: `serve` must not pay its import
        with tqdm(total=total, unit="feature", file=sys.stderr) as bar:
            summary = await service.import_collection(
                collection, id_property=args.id_property, name_property=args.name_property,
                repair=args.repair, now=SystemClock().now(), progress=bar.update)
    finally:
        await store.close()
    print(json.dumps(summary_json(summary), indent=2))
    return 0


async def _verify_audit(settings: Settings, anchor: str | None) -> int:
    store = make_store(settings)
    await store.open()
    try:
        log = AuditLog(store, SystemClock())
        count, problems = await log.verify_chain()
        if anchor:
            problems += await log.check_anchor(anchor)
        head = await log.head()
    finally:
        await store.close()
    for problem in problems:
        print(f"TAMPERED: {problem}")
    print(f"{count} audit entries checked: "
          f"{'the chain is intact' if not problems else f'{len(problems)} problems'}")
    if head is not None:
        # Kept outside the database (a ticket, a log), the head exposes a cut-off tail later.
        print(f"head (keep it elsewhere; pass it as --anchor next time): {head.seq}:{head.hash}")
    return 1 if problems else 0


async def _export_feedback(settings: Settings, out: Path) -> int:
    from .triage.corpus import to_line
    from .triage.feedback import feedback_examples

    store = make_store(settings)
    await store.open()
    count = 0
    try:
        with out.open("w", encoding="utf-8") as fh:
            async for example in feedback_examples(store):
                fh.write(to_line(example) + "\n")
                count += 1
    finally:
        await store.close()
    print(f"{count} labelled reports written to {out}; retrain with "
          f"`python -m server triage train --extra {out} --out DIR`, then point "
          f"BLUELIGHT_TRIAGE_MODEL at DIR")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run one command; exit 2 with a clear message on bad settings or input."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        if args.command == "triage" and args.triage_command != "export-feedback":
            return triage_cli.run(args)
        settings = Settings.from_env()
        logs.configure(settings.log_format)
        if args.command == "triage":
            return asyncio.run(_export_feedback(settings, args.out))
        if args.command == "serve":
            _serve(settings)
            return 0
        if args.command == "demo":
            from .demo import run_demo

            logging.getLogger().setLevel(logging.WARNING)
            # A sweep skipped while the previous one runs is harmless; keep the demo readable.
            logging.getLogger("apscheduler").setLevel(logging.ERROR)
            asyncio.run(run_demo())
            return 0
        if args.command == "verify-audit":
            return asyncio.run(_verify_audit(settings, args.anchor))
        if args.command == "token":
            minted = mint_token(settings.resolve_jwt_secret(), sub=args.sub,
                                role=Role(args.role), now=SystemClock().now(), ttl_s=args.ttl,
                                sources=args.sources)
            print(minted)
            print(f"jti {token_id(minted)} (an admin revokes it with DELETE /v1/tokens/JTI)",
                  file=sys.stderr)
            return 0
        return asyncio.run(_import(settings, args))
    except (SettingsError, StoreInUse) as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    except (DomainError, OSError, json.JSONDecodeError, CorpusError, ModelError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
