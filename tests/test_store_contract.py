"""The storage port's contract: every adapter must pass exactly these tests."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from server.domain.model import (
    Device,
    LocationFix,
    Neighbourhood,
    OfficerProfile,
    OfficerStatus,
    Platform,
    Rank,
)
from server.ports import Store
from tests.conftest import square

T0 = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def hood(nid: str, name: str = "N", at: datetime = T0) -> Neighbourhood:
    return Neighbourhood(id=nid, name=name, geometry=square(0, 0), places=("High St",),
                         area_m2=1.0, created_at=at, updated_at=at)


async def test_neighbourhood_roundtrip_and_version(store: Store) -> None:
    v0 = await store.neighbourhoods_version()
    assert await store.put_neighbourhoods([hood("a"), hood("b")]) == [True, True]
    v1 = await store.neighbourhoods_version()
    assert v1 > v0
    got = await store.get_neighbourhood("a")
    assert got is not None and got.geometry == square(0, 0) and got.places == ("High St",)
    assert got.created_at == T0
    assert [n.id for n in await store.list_neighbourhoods()] == ["a", "b"]
    assert (await store.list_neighbourhoods(with_geometry=False))[0].geometry == {}


async def test_neighbourhood_replace_keeps_created_at(store: Store) -> None:
    await store.put_neighbourhoods([hood("a")])
    later = T0 + timedelta(hours=1)
    assert await store.put_neighbourhoods([hood("a", "Renamed", later)]) == [False]
    got = await store.get_neighbourhood("a")
    assert got is not None and got.name == "Renamed"
    assert got.created_at == T0 and got.updated_at == later


async def test_neighbourhood_delete(store: Store) -> None:
    await store.put_neighbourhoods([hood("a")])
    v = await store.neighbourhoods_version()
    assert await store.delete_neighbourhood("a") is True
    assert await store.neighbourhoods_version() > v
    assert await store.delete_neighbourhood("a") is False
    assert await store.get_neighbourhood("a") is None


async def test_empty_put_changes_nothing(store: Store) -> None:
    v = await store.neighbourhoods_version()
    assert await store.put_neighbourhoods([]) == []
    assert await store.neighbourhoods_version() == v


def profile(oid: str = "o1", **kw: object) -> OfficerProfile:
    base: dict[str, object] = {"id": oid, "name": "Ada", "callsign": "K-1"}
    return OfficerProfile(**{**base, **kw})  # type: ignore[arg-type]


async def test_officer_profile_update_keeps_duty_and_location(store: Store) -> None:
    officer, created = await store.put_officer(profile(), T0)
    assert created and not officer.on_duty and officer.location is None
    await store.set_duty("o1", True, T0)
    await store.update_location("o1", LocationFix(51.5, -0.1, T0, 5.0))
    officer, created = await store.put_officer(
        profile(name="Ada L", rank=Rank.SUPERVISOR, neighbourhood_ids=("a", "b")),
        T0 + timedelta(minutes=1))
    assert not created
    assert officer.on_duty and officer.location is not None and officer.location.lat == 51.5
    assert officer.profile.rank is Rank.SUPERVISOR
    assert officer.profile.neighbourhood_ids == ("a", "b")
    assert officer.created_at == T0


async def test_duty_changes_only_move_the_time_on_change(store: Store) -> None:
    await store.put_officer(profile(), T0)
    o = await store.set_duty("o1", True, T0)
    assert o is not None and o.on_duty and o.duty_changed_at == T0
    o = await store.set_duty("o1", True, T0 + timedelta(minutes=5))
    assert o is not None and o.duty_changed_at == T0
    o = await store.set_duty("o1", False, T0 + timedelta(minutes=9))
    assert o is not None and not o.on_duty
    assert await store.set_duty("nobody", True, T0) is None


async def test_older_location_fix_is_ignored(store: Store) -> None:
    await store.put_officer(profile(), T0)
    _, applied = await store.update_location("o1", LocationFix(1.0, 1.0, T0))
    assert applied
    o, applied = await store.update_location("o1", LocationFix(2.0, 2.0, T0 - timedelta(seconds=1)))
    assert not applied and o is not None and o.location is not None and o.location.lat == 1.0
    o, applied = await store.update_location("o1", LocationFix(3.0, 3.0, T0 + timedelta(seconds=1)))
    assert applied and o is not None and o.location is not None and o.location.lat == 3.0
    assert await store.update_location("nobody", LocationFix(0, 0, T0)) == (None, False)


async def test_officers_on_duty_are_read_as_they_are_now(store: Store) -> None:
    """Read again after every kind of change (an adapter may reuse what it decoded for a
    row that has not changed: SQLite does)."""
    await store.put_officer(profile(), T0)
    await store.set_duty("o1", True, T0, session_id="s1")
    await store.update_location("o1", LocationFix(1.0, 1.0, T0))
    [o] = await store.on_duty_officers(T0)
    assert o.location is not None and o.location.lat == 1.0 and o.device_count == 0
    await store.update_location("o1", LocationFix(2.0, 1.0, T0 + timedelta(seconds=1)))
    [o] = await store.on_duty_officers(T0)
    assert o.location is not None and o.location.lat == 2.0
    await store.put_device(Device("tok-1", "o1", Platform.ANDROID, T0))
    [o] = await store.on_duty_officers(T0)
    assert o.device_count == 1
    await store.set_status("o1", OfficerStatus.COMMITTED, "inc-1", T0)
    [o] = await store.on_duty_officers(T0)
    assert o.status is OfficerStatus.COMMITTED and o.status_incident_id == "inc-1"
    await store.put_officer(profile(callsign="K-2"), T0)
    [o] = await store.on_duty_officers(T0)
    assert o.profile.callsign == "K-2"
    await store.set_duty("o1", False, T0)
    assert await store.on_duty_officers(T0) == []


async def test_concurrent_fixes_keep_the_newest(store: Store) -> None:
    await store.put_officer(profile(), T0)
    fixes = [LocationFix(float(i), 0.0, T0 + timedelta(seconds=i)) for i in range(20)]
    await asyncio.gather(*(store.update_location("o1", f) for f in reversed(fixes)))
    o = await store.get_officer("o1")
    assert o is not None and o.location is not None and o.location.lat == 19.0


async def test_device_token_moves_between_officers(store: Store) -> None:
    await store.put_officer(profile("o1"), T0)
    await store.put_officer(profile("o2"), T0)
    await store.set_duty("o2", True, T0, "dut_o2")
    assert await store.put_device(Device("tok-1", "o1", Platform.ANDROID, T0)) is None
    assert await store.put_device(Device("tok-1", "o2", Platform.IOS, T0)) == "o1"
    assert await store.list_devices("o1") == []
    [moved] = await store.list_devices("o2")
    assert moved.platform is Platform.IOS
    o2 = await store.get_officer("o2")
    assert o2 is not None and o2.device_count == 1
    assert await store.delete_device("o1", "tok-1") is False
    assert await store.delete_device("o2", "tok-1") is True
    assert await store.list_devices("o2") == []


async def test_only_the_current_duty_session_devices_are_pushed(store: Store) -> None:
    await store.put_officer(profile("o1"), T0)
    await store.put_device(Device("early", "o1", Platform.ANDROID, T0))   # off duty
    assert await store.devices_for(["o1"]) == []
    o = await store.set_duty("o1", True, T0, "dut_1")
    assert o is not None and o.session_id == "dut_1" and o.device_count == 1
    await store.put_device(Device("during", "o1", Platform.WEB, T0))
    assert sorted(d.token for d in await store.devices_for(["o1"])) == ["during", "early"]
    again = await store.set_duty("o1", True, T0, "dut_other")   # already on: same session
    assert again is not None and again.session_id == "dut_1"
    o = await store.set_duty("o1", False, T0 + timedelta(hours=8))
    assert o is not None and o.session_id is None and o.device_count == 0
    assert await store.devices_for(["o1"]) == []        # a session's end stops every push
    o = await store.set_duty("o1", True, T0 + timedelta(hours=20), "dut_2")
    assert o is not None and o.device_count == 0 and await store.devices_for(["o1"]) == []
    await store.put_device(Device("during", "o1", Platform.WEB, T0 + timedelta(hours=20)))
    assert [d.token for d in await store.devices_for(["o1"])] == ["during"]
    assert len(await store.list_devices("o1")) == 2   # both still registered


async def test_list_officers_ordered(store: Store) -> None:
    for oid in ("c", "a", "b"):
        await store.put_officer(profile(oid), T0)
    assert [o.id for o in await store.list_officers()] == ["a", "b", "c"]
    assert await store.get_officer("zzz") is None


async def test_ping(store: Store) -> None:
    await store.ping()


async def test_source_cursor_saved_and_replaced(store: Store) -> None:
    assert await store.get_cursor("bsky") is None
    await store.put_cursor("bsky", "1779719009157119", T0)
    await store.put_cursor("masto", "109", T0)
    await store.put_cursor("bsky", "1779719010000000", T0 + timedelta(seconds=1))
    assert await store.get_cursor("bsky") == "1779719010000000"
    assert await store.get_cursor("masto") == "109"


async def test_replies_are_kept_per_incident_in_order(store: Store) -> None:
    from server.domain.records import Reply, ReplyStatus

    def reply(rid: str, iid: str, at: datetime) -> Reply:
        return Reply(rid, iid, "rep_1", "bsky", "Seen by police.", ReplyStatus.QUEUED,
                     "op", at, at)

    await store.put_reply(reply("r2", "i1", T0 + timedelta(seconds=1)))
    await store.put_reply(reply("r1", "i1", T0))
    await store.put_reply(reply("r3", "i2", T0))
    sent = reply("r1", "i1", T0)
    await store.put_reply(Reply(**{**vars(sent), "status": ReplyStatus.SENT,
                                   "remote_id": "at://x/1"}))
    got = await store.list_replies("i1")
    assert [r.id for r in got] == ["r1", "r2"]
    assert got[0].status is ReplyStatus.SENT and got[0].remote_id == "at://x/1"


async def test_a_revoked_token_id_stays_revoked(store: Store) -> None:
    now = datetime(2026, 11, 30, 12, tzinfo=UTC)
    assert not await store.token_revoked("jti-aaaaaaaa")

    assert await store.revoke_token("jti-aaaaaaaa", "admin-1", now) is True
    assert await store.revoke_token("jti-aaaaaaaa", "admin-2", now) is False  # idempotent

    assert await store.token_revoked("jti-aaaaaaaa")
    assert not await store.token_revoked("jti-bbbbbbbb")
