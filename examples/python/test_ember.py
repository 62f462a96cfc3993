"""Checks the Python wrapper against libember. A plain script: python3 test_ember.py.

Run by `cargo test -p ember-ffi` (ffi/tests/hosts_build_and_run.rs) with EMBER_LIB set.
"""

import ctypes
import os
import tempfile
import threading
import uuid

import ember
from ember import EmberError, Engine


def fresh_engine(**options) -> Engine:
    path = os.path.join(tempfile.mkdtemp(prefix="ember-py-"), "test.db")
    defaults = dict(password_memory_kib=8, password_iterations=1,
                    post_rate_per_second=1000.0, post_burst=1000)
    defaults.update(options)
    return Engine.open(path, **defaults)


def messages_only(events):
    return [e for e in events if e.message is not None]


def test_post_retry_and_reconnect():
    with fresh_engine() as engine:
        ann = engine.create_user("ann", "Ann", "correct horse", role="admin")
        bob = engine.create_user("bob", "Bob", "battery staple")
        token, who = engine.login("bob", "battery staple")
        assert who == bob.id and engine.authenticate(token).login == "bob"
        room = engine.create_room(ann.id, "Lobby", kind="closed", members=[bob.id])

        with engine.subscribe(bob.id, room.id) as sub:
            cid = uuid.uuid4()
            first, dup = engine.post(ann.id, room.id, "hello", client_message_id=cid)
            again, dup2 = engine.post(ann.id, room.id, "hello", client_message_id=cid)
            assert (dup, dup2) == (False, True)
            assert again.id == first.id and again.seq == first.seq
            live = messages_only(sub.events(timeout_ms=300))
            assert [e.message.content for e in live] == ["hello"], live
            cursor = live[-1].message.change_seq

        engine.post(ann.id, room.id, "missed one")
        engine.edit(ann.id, first.id, "hello, edited")
        with engine.subscribe(bob.id, room.id, since=cursor) as sub:
            missed = messages_only(sub.events(timeout_ms=300))
            assert [(e.kind, e.message.content) for e in missed] == [
                ("message_created", "missed one"),
                ("message_edited", "hello, edited"),
            ], missed

        page, more, head = engine.changes_since(bob.id, room.id, 0)
        assert len(page) == 2 and not more and head == page[-1].change_seq
        assert [m.seq for m in engine.history(bob.id, room.id)] == [1, 2]
        (summary,) = engine.rooms_for(bob.id)
        assert summary.unread == 2 and summary.room.name == "Lobby"
        assert engine.mark_read(bob.id, room.id, 2) == 0
        assert engine.stats()["commands"] > 0
        presence = engine.presence_connect(bob.id, room.id)
        assert engine.online_members(ann.id, room.id) == [bob.id]
        engine.presence_heartbeat(presence)
        engine.presence_disconnect(presence)
        assert engine.online_members(ann.id, room.id) == []


def test_errors_carry_status_and_message():
    with fresh_engine() as engine:
        ann = engine.create_user("ann", "Ann", "correct horse", role="admin")
        room = engine.create_room(ann.id, "Lobby")
        try:
            engine.post(ann.id, room.id, "   ")
            raise AssertionError("empty content was accepted")
        except EmberError as e:
            assert e.name == "EMBER_ERR_VALIDATION" and "content" in e.message, e
        try:
            engine.user(uuid.uuid4())
            raise AssertionError("an unknown user was found")
        except EmberError as e:
            assert e.name == "EMBER_ERR_NOT_FOUND", e
        try:
            engine.login("ann", "wrong password")
            raise AssertionError("a wrong password logged in")
        except EmberError as e:
            assert e.name == "EMBER_ERR_UNAUTHENTICATED", e
        # Invalid UTF-8 straight through ctypes is refused, not undefined behaviour.
        p, dup = ctypes.POINTER(ember.CMessage)(), ctypes.c_bool()
        status = ember.lib.ember_post(engine.h, ember.CUuid.of(ann.id), ember.CUuid.of(room.id),
                                      ember.CUuid.of(uuid.uuid4()), b"\xff\xfe", ctypes.byref(p),
                                      ctypes.byref(dup))
        assert ember.lib.ember_status_name(status) == b"EMBER_ERR_INVALID_ARGUMENT"
        assert not p, "an output was written on failure"


def test_rate_limit_reports_retry_after():
    with fresh_engine(post_rate_per_second=0.5, post_burst=1) as engine:
        ann = engine.create_user("ann", "Ann", "correct horse", role="admin")
        room = engine.create_room(ann.id, "Lobby")
        engine.post(ann.id, room.id, "one")
        try:
            engine.post(ann.id, room.id, "two")
            raise AssertionError("the second post was not rate limited")
        except EmberError as e:
            assert e.name == "EMBER_ERR_RATE_LIMITED" and e.retry_after_ms > 0, e


def test_iteration_ends_when_the_engine_closes():
    engine = fresh_engine()
    ann = engine.create_user("ann", "Ann", "correct horse", role="admin")
    room = engine.create_room(ann.id, "Lobby")
    sub = engine.subscribe(ann.id, room.id)
    seen = []
    reader = threading.Thread(target=lambda: seen.extend(messages_only(sub)))
    reader.start()
    engine.post(ann.id, room.id, "last words")
    engine.close()
    reader.join(timeout=10)
    assert not reader.is_alive(), "iteration did not end at close"
    assert [e.message.content for e in seen] == ["last words"], seen
    sub.close()
    try:
        engine.post(ann.id, room.id, "after close")
        raise AssertionError("posted after close")
    except EmberError as e:
        assert e.name == "EMBER_ERR_CLOSED"


def test_listings_webhooks_notifications_and_pipeline():
    with fresh_engine() as engine:
        ann = engine.create_user("ann", "Ann", "correct horse", role="admin")
        bob = engine.create_user("bob", "Bob", "battery staple")
        assert engine.user_by_login("BOB").id == bob.id
        assert [u.login for u in engine.users()] == ["ann", "bob"]
        assert engine.authenticate(engine.create_session(bob.id)).id == bob.id
        room = engine.create_room(ann.id, "Lobby")
        assert engine.room(bob.id, room.id).name == "Lobby"
        assert [r.id for r in engine.all_rooms()] == [room.id]
        engine.set_involvement(bob.id, room.id, "everything")
        members = {m.user.login: m.involvement for m in engine.members(ann.id, room.id)}
        assert members == {"ann": "mentions", "bob": "everything"}, members

        bot, _key = engine.create_bot("hook", "Hook")
        assert engine.bot_webhook(bot.id) is None
        secret = engine.bot_webhook_secret(bot.id)
        assert len(secret) == 64 and secret != _key
        rotated = engine.rotate_bot_webhook_secret(bot.id)
        assert rotated != secret and engine.bot_webhook_secret(bot.id) == rotated
        engine.set_bot_webhook(bot.id, "https://example.invalid/hook")
        assert engine.bot_webhook(bot.id) == "https://example.invalid/hook"
        engine.set_bot_webhook(bot.id, None)
        assert engine.bot_webhook(bot.id) is None
        assert any(p.name and p.enabled and p.fault is None for p in engine.plugins())

        with engine.subscribe_notifications() as stream:
            posted = [engine.post(ann.id, room.id, f"m{i}")[0] for i in range(5)]
            notes = [e for e in stream.events(timeout_ms=1000) if e.kind == "notify"]
            assert [e.message.id for e in notes] == [m.id for m in posted], notes
            assert all(e.users == (bob.id,) for e in notes), notes
        assert engine.message(bob.id, posted[2].id).content == "m2"
        around = engine.messages_around(bob.id, posted[2].id, n=1)
        assert [m.content for m in around] == ["m1", "m2", "m3"], around

        with engine.pipeline() as pipe:
            tickets = [
                pipe.post(ann.id, room.id, "pipelined"),
                pipe.edit(ann.id, posted[0].id, "m0, edited"),
                pipe.delete(ann.id, posted[1].id),
                pipe.mark_read(bob.id, room.id, 3),
                pipe.edit(ann.id, uuid.uuid4(), "nobody's"),
            ]
            assert pipe.pending == 5
            done = {c.ticket: c for c in pipe.drain()}
            assert sorted(done) == sorted(tickets) and pipe.pending == 0
            post, edit, delete, read, missing = (done[t] for t in tickets)
            assert (post.kind, post.ok, post.message.content) == ("post", True, "pipelined")
            assert edit.message.edited and delete.message.deleted
            assert (read.kind, read.unread) == ("mark_read", 3)
            assert (missing.status, missing.message) == ("EMBER_ERR_NOT_FOUND", None)
            assert pipe.next(timeout_ms=0) is None


if __name__ == "__main__":
    tests = [(name, fn) for name, fn in sorted(globals().items()) if name.startswith("test_")]
    for name, fn in tests:
        fn()
        print(f"{name}: ok")
    print(f"python: {len(tests)} passed, 0 failed")
