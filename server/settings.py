"""Settings: read once from the environment, validated, failing fast with a clear message."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from . import web_push

ROLES = ("admin", "control_room", "officer", "ingest")
# Requests a second / burst, per principal. An ingest connector in a surge sends thousands of
# reports a minute; a stolen officer token must not be able to hammer the API.
DEFAULT_RATE_LIMITS = ("ingest=200/2000,control_room=50/200,admin=20/100,officer=3/30,"
                       "anonymous=20/50,auth_failures=0.1/20")


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names it and says what is expected."""


@dataclass(frozen=True)
class Settings:
    """Validated configuration for one Bluelight process."""

    store_url: str = "sqlite:///./var/bluelight.db"
    data_dir: Path = Path("./var")
    host: str = "127.0.0.1"
    port: int = 8080
    jwt_secret: str | None = None
    geofence_refresh_s: float = 2.0
    max_body_bytes: int = 32 * 1024 * 1024
    sqlite_synchronous: str = "FULL"
    push: str = "log"
    fcm_project_id: str | None = None
    fcm_credentials: str | None = None
    fcm_endpoint: str | None = None
    fcm_access_token: str | None = None
    fcm_web: web_push.WebPushConfig | None = None   # the officer app's web push (optional)
    policy_file: Path | None = None
    triage_rules_file: Path | None = None
    sources_file: Path | None = None      # built-in sources (absent: none)
    reply_templates_file: Path | None = None  # a force's reply templates (YAML)
    # The dashboard map's tiles ({z}/{x}/{y} template); "" draws boundaries and markers only.
    map_tiles: str = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    log_format: str = "text"              # text or json (one object a line)
    # A connection that sends no complete request for this long is closed (slow headers).
    idle_timeout_s: float = 10.0
    # Open connections beyond this are answered 503 and closed, so a flood of idle sockets
    # cannot use up the process's file descriptors (0: worked out from RLIMIT_NOFILE).
    max_connections: int = 0
    # A push record not updated for this long was left by a process that died: push again.
    push_stale_s: float = 20.0
    metrics_port: int | None = None       # also serve /metrics, unauthenticated, here
    triage_model_dir: Path | None = None  # a force's retrained model (default: the shipped one)
    group_window_s: float = 900.0
    group_radius_m: float = 500.0
    sweep_s: float = 1.0
    auth: str = "embedded"
    oidc_issuer: str | None = None
    oidc_audience: str | None = None
    oidc_jwks_url: str | None = None
    oidc_role_claim: str = "roles"
    oidc_role_map: tuple[tuple[str, str], ...] = ()
    # The dashboard's and officer app's sign-in (authorization code with PKCE), if set.
    oidc_client_id: str | None = None
    oidc_authorize_url: str | None = None
    oidc_token_url: str | None = None
    rate_limits: str = DEFAULT_RATE_LIMITS
    request_timeout_s: float = 30.0
    cors_origins: tuple[str, ...] = ()
    retention_days: float = 30.0
    retention_check_s: float = 3600.0

    @property
    def store_kind(self) -> str:
        """'sqlite' or 'mongodb'."""
        return "sqlite" if self.store_url.startswith("sqlite:") else "mongodb"

    @property
    def sqlite_path(self) -> Path:
        """The SQLite file of a sqlite:/// URL (relative paths are relative to the cwd)."""
        return Path(self.store_url.removeprefix("sqlite:///"))

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read BLUELIGHT_* variables; raise SettingsError naming the first bad one."""
        env = os.environ if env is None else env
        data_dir = Path(env.get("BLUELIGHT_DATA_DIR", "./var"))
        store = env.get("BLUELIGHT_STORE", f"sqlite:///{data_dir / 'bluelight.db'}")
        _check_store(store)
        secret = env.get("BLUELIGHT_JWT_SECRET") or None
        if secret is not None and len(secret) < 32:
            raise SettingsError("BLUELIGHT_JWT_SECRET must be at least 32 characters long")
        sync = env.get("BLUELIGHT_SQLITE_SYNCHRONOUS", "FULL").upper()
        if sync not in ("FULL", "NORMAL", "EXTRA"):
            raise SettingsError("BLUELIGHT_SQLITE_SYNCHRONOUS must be FULL, NORMAL or EXTRA")
        push = env.get("BLUELIGHT_PUSH", "log")
        if push not in ("log", "fcm"):
            raise SettingsError(f"BLUELIGHT_PUSH must be log or fcm, got {push!r}")
        fcm = {k: env.get(f"BLUELIGHT_FCM_{k.upper()}") or None
               for k in ("project_id", "credentials", "endpoint", "access_token")}
        if push == "fcm":
            if not fcm["project_id"]:
                raise SettingsError("BLUELIGHT_PUSH=fcm needs BLUELIGHT_FCM_PROJECT_ID")
            if not (fcm["credentials"] or fcm["access_token"]):
                raise SettingsError("BLUELIGHT_PUSH=fcm needs BLUELIGHT_FCM_CREDENTIALS (a "
                                    "service-account JSON file) or BLUELIGHT_FCM_ACCESS_TOKEN")
            if fcm["credentials"] and not Path(fcm["credentials"]).is_file():
                raise SettingsError(f"BLUELIGHT_FCM_CREDENTIALS: no file {fcm['credentials']!r}")
            if fcm["endpoint"] and not fcm["endpoint"].startswith(("http://", "https://")):
                raise SettingsError("BLUELIGHT_FCM_ENDPOINT must be an http(s) URL")
        fcm_web = _fcm_web(env, push, fcm["project_id"])
        auth = _auth(env)
        try:
            from .security.ratelimit import parse_rates

            rates = env.get("BLUELIGHT_RATE_LIMITS", DEFAULT_RATE_LIMITS)
            unknown = set(parse_rates(rates)) - {*ROLES, "anonymous", "auth_failures"}
        except ValueError as exc:
            raise SettingsError(f"BLUELIGHT_RATE_LIMITS: {exc}") from None
        if unknown:
            raise SettingsError(f"BLUELIGHT_RATE_LIMITS: unknown roles {sorted(unknown)}")
        origins = tuple(o.strip() for o in env.get("BLUELIGHT_CORS_ORIGINS", "").split(",")
                        if o.strip())
        for origin in origins:
            if origin != "*" and not origin.startswith(("http://", "https://")):
                raise SettingsError(f"BLUELIGHT_CORS_ORIGINS: {origin!r} is not an origin")
        return cls(
            **auth, rate_limits=rates, cors_origins=origins,
            request_timeout_s=_float(env, "BLUELIGHT_REQUEST_TIMEOUT_S", 30.0, 1.0, 600.0),
            retention_days=_float(env, "BLUELIGHT_RETENTION_DAYS", 30.0, 1.0, 3650.0),
            retention_check_s=_float(env, "BLUELIGHT_RETENTION_CHECK_S", 3600.0, 1.0, 86400.0),
            push=push, fcm_project_id=fcm["project_id"], fcm_credentials=fcm["credentials"],
            fcm_endpoint=fcm["endpoint"], fcm_access_token=fcm["access_token"],
            fcm_web=fcm_web,
            policy_file=_file(env, "BLUELIGHT_POLICY_FILE"),
            triage_rules_file=_file(env, "BLUELIGHT_TRIAGE_RULES"),
            triage_model_dir=_model_dir(env, "BLUELIGHT_TRIAGE_MODEL"),
            sources_file=_file(env, "BLUELIGHT_SOURCES_FILE"),
            log_format=_choice(env, "BLUELIGHT_LOG_FORMAT", ("text", "json")),
            idle_timeout_s=_float(env, "BLUELIGHT_IDLE_TIMEOUT_S", 10.0, 1.0, 600.0),
            push_stale_s=_float(env, "BLUELIGHT_PUSH_STALE_S", 20.0, 1.0, 600.0),
            max_connections=_int(env, "BLUELIGHT_MAX_CONNECTIONS", 0, 0, 1_000_000),
            reply_templates_file=_file(env, "BLUELIGHT_REPLY_TEMPLATES"),
            map_tiles=_tiles(env.get("BLUELIGHT_MAP_TILES",
                                     "https://tile.openstreetmap.org/{z}/{x}/{y}.png")),
            metrics_port=(_int(env, "BLUELIGHT_METRICS_PORT", 0, 1, 65535)
                          if env.get("BLUELIGHT_METRICS_PORT") else None),
            group_window_s=_float(env, "BLUELIGHT_GROUP_WINDOW_S", 900.0, 1.0, 86400.0),
            group_radius_m=_float(env, "BLUELIGHT_GROUP_RADIUS_M", 500.0, 1.0, 100000.0),
            sweep_s=_float(env, "BLUELIGHT_SWEEP_S", 1.0, 0.05, 2.0),
            store_url=store,
            data_dir=data_dir,
            host=env.get("BLUELIGHT_HOST", "127.0.0.1"),
            port=_int(env, "BLUELIGHT_PORT", 8080, 0, 65535),
            jwt_secret=secret,
            geofence_refresh_s=_float(env, "BLUELIGHT_GEOFENCE_REFRESH_S", 2.0, 0.05, 3600),
            max_body_bytes=_int(env, "BLUELIGHT_MAX_BODY_BYTES", 32 * 1024 * 1024,
                                1024, 1024**3),
            sqlite_synchronous=sync,
        )

    def resolve_jwt_secret(self) -> str:
        """The configured secret, or one generated once and kept in the data dir."""
        if self.jwt_secret:
            return self.jwt_secret
        path = self.data_dir / "jwt_secret"
        if path.exists():
            return path.read_text().strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        secret = secrets.token_urlsafe(48)
        # O_EXCL: if two processes race, one wins and the other reads the winner's secret.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_text().strip()
        with os.fdopen(fd, "w") as f:
            f.write(secret)
        return secret


def _check_store(url: str) -> None:
    if url.startswith("sqlite:///"):
        if len(url) == len("sqlite:///"):
            raise SettingsError("BLUELIGHT_STORE sqlite:/// needs a file path")
        return
    parsed = urlparse(url)
    if parsed.scheme in ("mongodb", "mongodb+srv") and parsed.netloc:
        return
    raise SettingsError(
        f"BLUELIGHT_STORE must be sqlite:///path/to/file.db or a mongodb:// URI, got {url!r}")


def _auth(env: Mapping[str, str]) -> dict[str, Any]:
    mode = env.get("BLUELIGHT_AUTH", "embedded")
    if mode == "embedded":
        return {"auth": mode}
    if mode != "oidc":
        raise SettingsError(f"BLUELIGHT_AUTH must be embedded or oidc, got {mode!r}")
    found = {k: env.get(f"BLUELIGHT_OIDC_{k.upper()}") or None
             for k in ("issuer", "audience", "jwks_url")}
    missing = [f"BLUELIGHT_OIDC_{k.upper()}" for k, v in found.items() if not v]
    if missing:
        raise SettingsError(f"BLUELIGHT_AUTH=oidc needs {', '.join(missing)}")
    if not str(found["jwks_url"]).startswith(("https://", "http://")):
        raise SettingsError("BLUELIGHT_OIDC_JWKS_URL must be an http(s) URL")
    pairs = []
    for part in filter(None, (p.strip() for p in env.get("BLUELIGHT_OIDC_ROLE_MAP", "").split(
            ","))):
        claim_value, _, role = part.partition("=")
        if role not in ROLES:
            raise SettingsError(f"BLUELIGHT_OIDC_ROLE_MAP: {part!r} must map to one of {ROLES}")
        pairs.append((claim_value.strip(), role))
    return {"auth": mode, "oidc_issuer": found["issuer"], "oidc_audience": found["audience"],
            "oidc_jwks_url": found["jwks_url"],
            "oidc_role_claim": env.get("BLUELIGHT_OIDC_ROLE_CLAIM", "roles"),
            "oidc_role_map": tuple(pairs), **_sign_in(env)}


def _sign_in(env: Mapping[str, str]) -> dict[str, str | None]:
    """The browser sign-in: a public client id and the IdP's two endpoints, all or none."""
    found = {k: env.get(f"BLUELIGHT_OIDC_{k.upper()}") or None
             for k in ("client_id", "authorize_url", "token_url")}
    if not any(found.values()):
        return {f"oidc_{k}": None for k in found}
    missing = [f"BLUELIGHT_OIDC_{k.upper()}" for k, v in found.items() if not v]
    if missing:
        raise SettingsError(f"browser sign-in with OIDC needs {', '.join(missing)} too")
    for k in ("authorize_url", "token_url"):
        if not str(found[k]).startswith(("https://", "http://")):
            raise SettingsError(f"BLUELIGHT_OIDC_{k.upper()} must be an http(s) URL")
    return {f"oidc_{k}": v for k, v in found.items()}


def _fcm_web(env: Mapping[str, str], push: str,
             project_id: str | None) -> web_push.WebPushConfig | None:
    """The officer app's Firebase web app. Its tokens are pushed by this server's FCM
    project, so web push needs BLUELIGHT_PUSH=fcm and the same project."""
    raw = env.get("BLUELIGHT_FCM_WEB_CONFIG")
    if not raw:
        return None
    try:
        config = web_push.load(Path(raw))
    except ValueError as exc:
        raise SettingsError(f"BLUELIGHT_FCM_WEB_CONFIG: {exc}") from None
    if push != "fcm" or config.project_id != project_id:
        raise SettingsError("BLUELIGHT_FCM_WEB_CONFIG needs BLUELIGHT_PUSH=fcm and its "
                            "projectId equal to BLUELIGHT_FCM_PROJECT_ID")
    return config


def _tiles(raw: str) -> str:
    if raw and not (raw.startswith("https://") and all(k in raw for k in ("{z}", "{x}", "{y}"))):
        raise SettingsError("BLUELIGHT_MAP_TILES must be an https:// URL with {z}, {x} and {y}, "
                            "or empty for no tiles")
    return raw


def _choice(env: Mapping[str, str], name: str, choices: tuple[str, ...]) -> str:
    raw = env.get(name, choices[0])
    if raw not in choices:
        raise SettingsError(f"{name} must be one of {', '.join(choices)}, not {raw!r}")
    return raw


def _file(env: Mapping[str, str], name: str) -> Path | None:
    raw = env.get(name)
    if not raw:
        return None
    if not Path(raw).is_file():
        raise SettingsError(f"{name}: no file {raw!r}")
    return Path(raw)


def _model_dir(env: Mapping[str, str], name: str) -> Path | None:
    raw = env.get(name)
    if not raw:
        return None
    if not (Path(raw) / "triage.json").is_file() or not (Path(raw) / "triage.npz").is_file():
        raise SettingsError(f"{name}: {raw!r} is not a folder with triage.json and triage.npz "
                            "(see `python -m server triage train --out`)")
    return Path(raw)


def _int(env: Mapping[str, str], name: str, default: int, lo: int, hi: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from None
    if not lo <= value <= hi:
        raise SettingsError(f"{name} must be between {lo} and {hi}, got {value}")
    return value


def _float(env: Mapping[str, str], name: str, default: float, lo: float, hi: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from None
    if not lo <= value <= hi:
        raise SettingsError(f"{name} must be between {lo} and {hi}, got {value}")
    return value
