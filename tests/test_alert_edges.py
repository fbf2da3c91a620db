"""Edges of the alert loop: priority rises, repair after a crash, settings, the demo."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from server import keys
from server.__main__ import main
from server.domain.grouping import GroupingRules
from server.rules import DEFAULT_TRIAGE_RULES
from server.settings import Settings, SettingsError
from tests.alerting_world import WHITEHALL, neighbourhood, officer_on_duty, policy_file, post
from tests.conftest import ApiFactory
from tests.fake_timer import FakeClock, FakeTimer


async def test_priority_rise_restarts_the_policy(make_api: ApiFactory, settings: Settings,
                                                 tmp_path: Path) -> None:
    p1 = [{"radius_m": 2000, "officers": 2, "ack_timeout_s": 60}]
    p2 = [{"radius_m": 2000, "officers": 1, "ack_timeout_s": 60}]
    # P1 only from an urgency phrase here (not from a high score), so the first post is P2.
    rules = tmp_path / "rules.yaml"
    shipped = DEFAULT_TRIAGE_RULES.read_text()
    assert "\n  p1: 0.7\n" in shipped
    rules.write_text(shipped.replace("\n  p1: 0.7\n", "\n  p1: 1.0\n"))
    api = await make_api(settings=replace(settings, policy_file=policy_file(tmp_path, p1, p2),
                                          triage_rules_file=rules))
    await neighbourhood(api)
    await officer_on_duty(api, "a", 51.5050, -0.1265)
    await officer_on_duty(api, "b", 51.5060, -0.1265)
    # (An adult: a young child missing is P1 from an urgency phrase of its own.)
    r = await api.post("/v1/reports", post("my brother has wandered off in the park, not "
                                           "answering his phone, can't see him anywhere", "c1",
                                           lat=WHITEHALL[0], lon=WHITEHALL[1]), role="ingest")
    iid = r.body["incident_id"]
    assert r.body["priority"] == "P2"
    r = await api.post("/v1/reports", post("lost child by the river, please help", "c2",
                                           lat=WHITEHALL[0], lon=WHITEHALL[1]), role="ingest")
    assert r.body["incident_id"] == iid and r.body["priority"] == "P1"
    detail = (await api.get(f"/v1/incidents/{iid}", role="admin")).body
    assert detail["incident"]["priority"] == "P1"
    assert [(a["priority"], a["status"], len(a["recipients"])) for a in detail["alerts"]] == [
        ("P2", "cancelled", 1), ("P1", "pending", 2)]
    assert "priority_raised" in [e["kind"] for e in detail["timeline"]]


async def test_priority_rise_after_escalation_alerts_officers(
        make_api: ApiFactory, settings: Settings, tmp_path: Path) -> None:
    """Issue 14, item 3: a P3 escalated at once, then a P1 joined it: nobody was alerted."""
    rules = tmp_path / "rules.yaml"
    # Pin the two verdicts with a force's own overrides, so the test is about escalation.
    rules.write_text(DEFAULT_TRIAGE_RULES.read_text().replace("raise: []", """raise:
  - {pattern: "smell of gas", floor: P3, category: hazard}
  - {pattern: "people trapped", floor: P1, category: fire}""").replace(
        "downgrade:\n", 'downgrade:\n  - {pattern: "smell of gas", cap: P3}\n'))
    p1 = [{"radius_m": 2000, "officers": 2, "ack_timeout_s": 60}]
    api = await make_api(settings=replace(settings, policy_file=policy_file(tmp_path, p1),
                                          triage_rules_file=rules))
    await neighbourhood(api)
    await officer_on_duty(api, "a", 51.5050, -0.1265)
    r = await api.post("/v1/reports", post("strong smell of gas in the stairwell", "g1",
                                           lat=WHITEHALL[0], lon=WHITEHALL[1]), role="ingest")
    assert r.body["priority"] == "P3", r.body
    iid = r.body["incident_id"]
    detail = (await api.get(f"/v1/incidents/{iid}", role="admin")).body
    assert detail["incident"]["status"] == "escalated" and detail["alerts"] == []
    r = await api.post("/v1/reports", post("explosion in the stairwell, people trapped", "g2",
                                           lat=WHITEHALL[0] + 0.0001, lon=WHITEHALL[1]),
                       role="ingest")
    assert r.body["incident_id"] == iid and r.body["priority"] == "P1"
    detail = (await api.get(f"/v1/incidents/{iid}", role="admin")).body
    assert detail["incident"]["status"] == "alerting" and detail["incident"]["priority"] == "P1"
    assert [(a["priority"], a["status"], a["recipients"]) for a in detail["alerts"]] == [
        ("P1", "pending", ["a"])]
    queue = (await api.get("/v1/escalations", role="control_room")).body["items"]
    assert iid not in [x["incident_id"] for x in queue]


async def test_sweep_starts_an_incident_a_crash_left_unstarted(make_api: ApiFactory) -> None:
    timer = FakeTimer(FakeClock())
    api = await make_api(clock=timer.clock, timer=timer)
    await neighbourhood(api)
    await officer_on_duty(api, "a", 51.5050, -0.1265)
    reports = api.app[keys.REPORTS]
    # Store and group a report the way ingest does, but "crash" before the policy starts.
    report = reports.build(post("he has a knife", "crash", lat=WHITEHALL[0], lon=WHITEHALL[1]),
                           datetime.now(UTC))
    store = api.app[keys.STORE]
    _, incident, _ = await store.ingest_report(
        report, report.posted_at - GroupingRules().window,
        reports._plan(report, datetime.now(UTC)))
    assert incident is not None and incident.status.value == "open"
    await timer.advance(1)   # one sweep
    found = await store.get_incident(incident.id)
    assert found is not None and found.status.value == "alerting"


def test_push_settings_fail_fast(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="BLUELIGHT_PUSH must be log or fcm"):
        Settings.from_env({"BLUELIGHT_PUSH": "sms"})
    with pytest.raises(SettingsError, match="needs BLUELIGHT_FCM_PROJECT_ID"):
        Settings.from_env({"BLUELIGHT_PUSH": "fcm"})
    with pytest.raises(SettingsError, match="BLUELIGHT_FCM_CREDENTIALS"):
        Settings.from_env({"BLUELIGHT_PUSH": "fcm", "BLUELIGHT_FCM_PROJECT_ID": "p"})
    with pytest.raises(SettingsError, match="no file"):
        Settings.from_env({"BLUELIGHT_PUSH": "fcm", "BLUELIGHT_FCM_PROJECT_ID": "p",
                           "BLUELIGHT_FCM_CREDENTIALS": str(tmp_path / "none.json")})
    ok = Settings.from_env({"BLUELIGHT_PUSH": "fcm", "BLUELIGHT_FCM_PROJECT_ID": "p",
                            "BLUELIGHT_FCM_ACCESS_TOKEN": "t",
                            "BLUELIGHT_FCM_ENDPOINT": "http://127.0.0.1:9"})
    assert ok.push == "fcm" and ok.fcm_endpoint == "http://127.0.0.1:9"
    with pytest.raises(SettingsError, match="BLUELIGHT_SWEEP_S"):
        Settings.from_env({"BLUELIGHT_SWEEP_S": "5"})


def test_bad_policy_file_fails_fast(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "policy.yaml"
    bad.write_text("priorities:\n  P1:\n    waves:\n      - {radius_m: -1, officers: 1, "
                   "ack_timeout_s: 1}\n")
    from server.rules import load_policy

    with pytest.raises(SettingsError, match="BLUELIGHT_POLICY_FILE"):
        load_policy(bad)


def test_demo_runs_the_whole_story(monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "Loaded 649 London wards" in out
    assert "acknowledged the explosion" in out
    assert "escalated        no acknowledgement after wave 2" in out
    assert "P1 medical in Vincent Square, alerting" in out      # from a Bluesky stream
    assert "Reply on Bluesky, in the post's thread: 'Police here." in out


@pytest.mark.parametrize("store_kind", ["mongomock"])
async def test_sweep_groups_a_report_a_crash_left_without_incident(
        make_api: ApiFactory) -> None:
    from server.adapters.codec import to_doc
    from server.services.reports import ORPHAN_AFTER

    timer = FakeTimer(FakeClock())
    api = await make_api(clock=timer.clock, timer=timer)
    await neighbourhood(api)
    await officer_on_duty(api, "a", 51.5050, -0.1265)
    report = api.app[keys.REPORTS].build(post("he has a knife", "orphan", lat=WHITEHALL[0],
                                              lon=WHITEHALL[1]), timer.clock.now())
    # What MongoDB holds after a crash between the report insert and the incident write.
    store = api.app[keys.STORE]
    await store.col("reports").insert_one({**to_doc(report), "_id": report.id})  # type: ignore[attr-defined]
    assert [r.id for r in await store.orphan_reports(datetime.now(UTC))] == [report.id]
    await timer.advance(ORPHAN_AFTER.total_seconds() - 1)   # it may still be mid-ingest
    assert (await store.get_report(report.id)).incident_id is None  # type: ignore[union-attr]
    await timer.advance(2)
    stored = await store.get_report(report.id)
    assert stored is not None and stored.incident_id is not None
    incident = await store.get_incident(stored.incident_id)
    assert incident is not None and incident.status.value == "alerting"
    assert await store.orphan_reports(datetime.now(UTC)) == []
