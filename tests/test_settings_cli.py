"""Settings validation and the command line (token, import-neighbourhoods)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from server.__main__ import main
from server.auth import TokenVerifier
from server.domain.model import Role
from server.settings import Settings, SettingsError
from tests.conftest import DATA


def test_defaults() -> None:
    s = Settings.from_env({})
    assert s.store_url == "sqlite:///var/bluelight.db" and s.port == 8080
    assert s.store_kind == "sqlite" and s.sqlite_path == Path("var/bluelight.db")


@pytest.mark.parametrize(("env", "message"), [
    ({"BLUELIGHT_PORT": "http"}, "BLUELIGHT_PORT must be an integer"),
    ({"BLUELIGHT_PORT": "70000"}, "BLUELIGHT_PORT must be between"),
    ({"BLUELIGHT_STORE": "postgres://x"}, "BLUELIGHT_STORE must be"),
    ({"BLUELIGHT_STORE": "sqlite:///"}, "needs a file path"),
    ({"BLUELIGHT_JWT_SECRET": "short"}, "at least 32 characters"),
    ({"BLUELIGHT_GEOFENCE_REFRESH_S": "0"}, "BLUELIGHT_GEOFENCE_REFRESH_S must be between"),
    ({"BLUELIGHT_SQLITE_SYNCHRONOUS": "OFF"}, "FULL, NORMAL or EXTRA"),
])
def test_bad_values_fail_fast_naming_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings.from_env(env)


def test_mongodb_uri_is_accepted() -> None:
    s = Settings.from_env({"BLUELIGHT_STORE": "mongodb://db:27017/bluelight"})
    assert s.store_kind == "mongodb"


def test_generated_secret_is_kept_private_and_stable(tmp_path: Path) -> None:
    s = Settings.from_env({"BLUELIGHT_DATA_DIR": str(tmp_path)})
    first = s.resolve_jwt_secret()
    assert first == s.resolve_jwt_secret() and len(first) >= 32
    mode = (tmp_path / "jwt_secret").stat().st_mode
    assert stat.S_IMODE(mode) == 0o600


async def test_cli_token_is_accepted_by_the_server_verifier(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("BLUELIGHT_DATA_DIR", str(tmp_path))
    assert main(["token", "--role", "control_room", "--sub", "op-7", "--ttl", "60"]) == 0
    printed = capsys.readouterr()
    token = printed.out.strip()
    secret = Settings.from_env().resolve_jwt_secret()
    principal = await TokenVerifier(secret).verify(token)
    assert principal.sub == "op-7" and principal.role is Role.CONTROL_ROOM
    # The jti is printed beside it, so the token can be revoked later.
    assert principal.token_id and f"jti {principal.token_id} " in printed.err


def test_cli_reports_bad_settings(monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("BLUELIGHT_PORT", "nope")
    assert main(["token", "--role", "admin", "--sub", "x"]) == 2
    assert "configuration error: BLUELIGHT_PORT" in capsys.readouterr().err


def test_cli_import_prints_the_same_summary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    import json

    monkeypatch.setenv("BLUELIGHT_DATA_DIR", str(tmp_path))
    code = main(["import-neighbourhoods", str(DATA / "nyc_nta2020.geojson"),
                 "--id-property", "NTA2020", "--name-property", "NTAName"])
    out = capsys.readouterr()
    assert code == 0
    summary = json.loads(out.out)
    assert summary["counts"]["created"] == 261 and summary["counts"]["rejected"] == 1
    assert "262/262" in out.err  # the progress bar reached the end
    assert (tmp_path / "bluelight.db").exists()


def test_cli_import_missing_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("BLUELIGHT_DATA_DIR", str(tmp_path))
    assert main(["import-neighbourhoods", str(tmp_path / "none.geojson"),
                 "--id-property", "a", "--name-property", "b"]) == 2
    assert "error:" in capsys.readouterr().err


@pytest.mark.parametrize("ttl", ["0", "-5", "999999999", "soon"])
def test_cli_token_lifetime_is_bounded(ttl: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 14, item 11: `server token` accepted any lifetime, and a token cannot be revoked."""
    with pytest.raises(SystemExit) as exit_:
        main(["token", "--role", "admin", "--sub", "x", "--ttl", ttl])
    assert exit_.value.code == 2 and "--ttl" in capsys.readouterr().err
