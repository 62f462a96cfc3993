"""ember.py: a Pythonic ctypes wrapper over libember, the C ABI of the Ember chat engine.

    with Engine.open("chat.db", password_memory_kib=8) as engine:
        ann = engine.create_user("ann", "Ann", "correct horse", role="admin")
        room = engine.create_room(ann.id, "Lobby")
        message, duplicate = engine.post(ann.id, room.id, "hello")
        with engine.subscribe(ann.id, room.id, since=0) as sub:
            for event in sub.events(timeout_ms=100):
                print(event.kind, event.message.content)

Failures raise EmberError carrying the status (number and name), libember's message and,
when rate limited, retry_after_ms. Ids are uuid.UUID. The library is loaded from the path
in the EMBER_LIB environment variable, or from target/debug or target/release next to
this checkout.
"""

import ctypes
import os
import uuid
from ctypes import (
    POINTER,
    Structure,
    byref,
    c_bool,
    c_char_p,
    c_double,
    c_int,
    c_int32,
    c_int64,
    c_size_t,
    c_uint8,
    c_uint32,
    c_uint64,
    c_void_p,
)
from dataclasses import dataclass
from typing import Iterator, List, Optional, Tuple

OK = 0
TIMEOUT = 5
ERR_ENDED = 6
ERR_CLOSED = 16

ROLES = {"admin": 0, "member": 1, "bot": 2}
ROOM_KINDS = {"open": 0, "closed": 1, "direct": 2}
INVOLVEMENTS = {"invisible": 0, "nothing": 1, "mentions": 2, "everything": 3}
EVENT_KINDS = {
    0: "unknown", 1: "message_created", 2: "message_edited", 3: "message_deleted",
    4: "sound", 5: "typing", 6: "presence", 7: "membership", 8: "room_joined",
    9: "room_left", 10: "unread", 11: "involvement", 12: "notify", 13: "lagged",
    14: "revoked", 15: "ended",
}


def _name_of(table, number):
    return next((k for k, v in table.items() if v == number), str(number))


class CUuid(Structure):
    _fields_ = [("bytes", c_uint8 * 16)]

    @classmethod
    def of(cls, value: uuid.UUID) -> "CUuid":
        out = cls()
        out.bytes[:] = list(value.bytes)
        return out

    def get(self) -> uuid.UUID:
        return uuid.UUID(bytes=bytes(self.bytes))


class CUuidList(Structure):
    _fields_ = [("items", POINTER(CUuid)), ("len", c_size_t)]


class COptions(Structure):
    _fields_ = [
        ("struct_size", c_size_t),
        ("synchronous_full", c_bool),
        ("password_memory_kib", c_uint32),
        ("password_iterations", c_uint32),
        ("post_rate_per_second", c_double),
        ("post_burst", c_uint32),
        ("bot_post_rate_per_second", c_double),
        ("bot_post_burst", c_uint32),
        ("login_attempts", c_uint32),
        ("login_window_ms", c_uint64),
        ("session_ttl_ms", c_uint64),
        ("presence_ttl_ms", c_uint64),
        ("subscription_capacity", c_uint32),
        ("replay_cap", c_uint32),
        ("readers", c_uint32),
        ("queue_capacity", c_uint32),
        ("overload_wait_ms", c_uint64),
        ("search_delay_ms", c_uint64),
        ("builtin_sounds", c_bool),
    ]


class CUser(Structure):
    _fields_ = [
        ("id", CUuid), ("login", c_char_p), ("name", c_char_p), ("role", c_int),
        ("active", c_bool), ("created_at", c_int64),
    ]


class CRoom(Structure):
    _fields_ = [
        ("id", CUuid), ("kind", c_int), ("name", c_char_p), ("creator_id", CUuid),
        ("created_at", c_int64), ("has_messages", c_bool), ("last_message_at", c_int64),
        ("head_seq", c_uint64), ("head_change_seq", c_uint64),
    ]


class CRoomSummary(Structure):
    _fields_ = [
        ("room", CRoom), ("involvement", c_int), ("unread", c_uint64),
        ("last_read_seq", c_uint64),
    ]


class CRoomList(Structure):
    _fields_ = [("items", POINTER(CRoomSummary)), ("len", c_size_t)]


class CMessage(Structure):
    _fields_ = [
        ("id", CUuid), ("room_id", CUuid), ("seq", c_uint64), ("change_seq", c_uint64),
        ("creator_id", CUuid), ("client_message_id", CUuid), ("content", c_char_p),
        ("created_at", c_int64), ("edited", c_bool), ("edited_at", c_int64),
        ("deleted", c_bool), ("sound", c_char_p), ("mentions", POINTER(CUuid)),
        ("mentions_len", c_size_t),
    ]


class CMessageList(Structure):
    _fields_ = [("items", POINTER(CMessage)), ("len", c_size_t)]


class CEvent(Structure):
    _fields_ = [
        ("kind", c_int), ("room_id", CUuid), ("user_id", CUuid), ("message_id", CUuid),
        ("message", POINTER(CMessage)), ("room", POINTER(CRoomSummary)), ("flag", c_bool),
        ("name", c_char_p), ("unread", c_uint64), ("head_seq", c_uint64),
        ("involvement", c_int), ("resume_from", c_uint64), ("users", POINTER(CUuid)),
        ("users_len", c_size_t),
    ]


class CStats(Structure):
    _fields_ = [("struct_size", c_size_t)] + [
        (name, c_uint64)
        for name in (
            "commands", "failed_commands", "transactions", "largest_batch", "queue_depth",
            "search_backlog", "checkpoints", "room_subscriptions", "user_subscriptions",
        )
    ]


class CPresence(Structure):
    _fields_ = [("room", CUuid), ("user", CUuid), ("id", c_uint64)]


def _find_library() -> str:
    path = os.environ.get("EMBER_LIB")
    if path:
        return path
    root = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
    for profile in ("debug", "release"):
        candidate = os.path.join(root, "target", profile, "libember.so")
        if os.path.exists(candidate):
            return candidate
    raise OSError("libember not found: set EMBER_LIB to the path of libember.so")


lib = ctypes.CDLL(_find_library())
_S, _P = c_int, POINTER
_SIGNATURES = {
    "ember_last_error": (c_char_p, []),
    "ember_last_retry_after_ms": (c_uint64, []),
    "ember_status_name": (c_char_p, [c_int32]),
    "ember_version": (c_char_p, []),
    "ember_abi_version": (c_uint32, []),
    "ember_uuid_new": (_S, [_P(CUuid)]),
    "ember_options_init": (_S, [_P(COptions)]),
    "ember_engine_open": (_S, [c_char_p, _P(COptions), _P(c_void_p)]),
    "ember_engine_close": (_S, [c_void_p]),
    "ember_engine_stats": (_S, [c_void_p, _P(CStats)]),
    "ember_engine_epoch": (_S, [c_void_p, _P(CUuid)]),
    "ember_string_free": (None, [c_void_p]),
    "ember_create_user": (_S, [c_void_p, c_char_p, c_char_p, c_char_p, c_uint32, _P(_P(CUser))]),
    "ember_create_bot": (_S, [c_void_p, c_char_p, c_char_p, _P(_P(CUser)), _P(c_void_p)]),
    "ember_login": (_S, [c_void_p, c_char_p, c_char_p, _P(c_void_p), _P(CUuid)]),
    "ember_create_session": (_S, [c_void_p, CUuid, _P(c_void_p)]),
    "ember_authenticate": (_S, [c_void_p, c_char_p, _P(_P(CUser))]),
    "ember_revoke_session": (_S, [c_void_p, c_char_p]),
    "ember_deactivate_user": (_S, [c_void_p, CUuid]),
    "ember_user_get": (_S, [c_void_p, CUuid, _P(_P(CUser))]),
    "ember_user_free": (None, [_P(CUser)]),
    "ember_create_room": (_S, [c_void_p, CUuid, c_uint32, c_char_p, _P(CUuid), c_size_t, _P(_P(CRoom))]),
    "ember_direct_room": (_S, [c_void_p, CUuid, _P(CUuid), c_size_t, _P(_P(CRoom))]),
    "ember_add_member": (_S, [c_void_p, CUuid, CUuid, CUuid]),
    "ember_remove_member": (_S, [c_void_p, CUuid, CUuid, CUuid]),
    "ember_set_involvement": (_S, [c_void_p, CUuid, CUuid, c_uint32]),
    "ember_rooms_for": (_S, [c_void_p, CUuid, _P(_P(CRoomList))]),
    "ember_mark_read": (_S, [c_void_p, CUuid, CUuid, c_uint64, _P(c_uint64)]),
    "ember_room_free": (None, [_P(CRoom)]),
    "ember_room_list_free": (None, [_P(CRoomList)]),
    "ember_post": (_S, [c_void_p, CUuid, CUuid, CUuid, c_char_p, _P(_P(CMessage)), _P(c_bool)]),
    "ember_edit_message": (_S, [c_void_p, CUuid, CUuid, c_char_p, _P(_P(CMessage))]),
    "ember_delete_message": (_S, [c_void_p, CUuid, CUuid, _P(_P(CMessage))]),
    "ember_messages_before": (_S, [c_void_p, CUuid, CUuid, c_uint64, c_size_t, _P(_P(CMessageList))]),
    "ember_changes_since": (_S, [c_void_p, CUuid, CUuid, c_uint64, c_size_t, _P(_P(CMessageList)), _P(c_bool), _P(c_uint64)]),
    "ember_search": (_S, [c_void_p, CUuid, c_char_p, c_size_t, _P(_P(CMessageList))]),
    "ember_message_free": (None, [_P(CMessage)]),
    "ember_message_list_free": (None, [_P(CMessageList)]),
    "ember_subscribe_room": (_S, [c_void_p, CUuid, CUuid, _P(c_void_p)]),
    "ember_subscribe_room_since": (_S, [c_void_p, CUuid, CUuid, c_uint64, _P(c_void_p)]),
    "ember_subscribe_user": (_S, [c_void_p, CUuid, _P(c_void_p)]),
    "ember_subscription_head_change_seq": (_S, [c_void_p, _P(c_uint64)]),
    "ember_subscription_next": (_S, [c_void_p, c_int32, _P(_P(CEvent))]),
    "ember_subscription_free": (None, [c_void_p]),
    "ember_event_free": (None, [_P(CEvent)]),
    "ember_presence_connect": (_S, [c_void_p, CUuid, CUuid, _P(CPresence)]),
    "ember_presence_heartbeat": (_S, [c_void_p, _P(CPresence)]),
    "ember_presence_disconnect": (_S, [c_void_p, _P(CPresence)]),
    "ember_typing": (_S, [c_void_p, CUuid, CUuid, c_bool]),
    "ember_online_members": (_S, [c_void_p, CUuid, CUuid, _P(_P(CUuidList))]),
    "ember_uuid_list_free": (None, [_P(CUuidList)]),
}
for _name, (_restype, _argtypes) in _SIGNATURES.items():
    _fn = getattr(lib, _name)
    _fn.restype, _fn.argtypes = _restype, _argtypes


class EmberError(Exception):
    """A failed libember call: `status` (number), `name` ("EMBER_ERR_..."), `message`."""

    def __init__(self, status: int, message: str, retry_after_ms: int = 0):
        self.status = status
        self.name = lib.ember_status_name(status).decode()
        self.message = message
        self.retry_after_ms = retry_after_ms
        super().__init__(f"{self.name}: {message}")


def check(status: int) -> None:
    """Raises EmberError unless `status` is EMBER_OK."""
    if status != OK:
        raise EmberError(
            status, lib.ember_last_error().decode(), lib.ember_last_retry_after_ms()
        )


def _text(s: str) -> bytes:
    return s.encode("utf-8")


def _take_string(ptr: c_void_p) -> str:
    try:
        return ctypes.string_at(ptr).decode()
    finally:
        lib.ember_string_free(ptr)


@dataclass(frozen=True)
class User:
    id: uuid.UUID
    login: str
    name: str
    role: str
    active: bool

    @classmethod
    def take(cls, p) -> "User":
        try:
            u = p.contents
            return cls(u.id.get(), u.login.decode(), u.name.decode(),
                       _name_of(ROLES, u.role), u.active)
        finally:
            lib.ember_user_free(p)


@dataclass(frozen=True)
class Room:
    id: uuid.UUID
    kind: str
    name: str
    head_seq: int
    head_change_seq: int

    @classmethod
    def of(cls, r: CRoom) -> "Room":
        return cls(r.id.get(), _name_of(ROOM_KINDS, r.kind), r.name.decode(), r.head_seq,
                   r.head_change_seq)


@dataclass(frozen=True)
class RoomSummary:
    room: Room
    involvement: str
    unread: int
    last_read_seq: int


@dataclass(frozen=True)
class Message:
    id: uuid.UUID
    room_id: uuid.UUID
    seq: int
    change_seq: int
    creator_id: uuid.UUID
    client_message_id: uuid.UUID
    content: str
    edited: bool
    deleted: bool
    sound: Optional[str]

    @classmethod
    def of(cls, m: CMessage) -> "Message":
        return cls(m.id.get(), m.room_id.get(), m.seq, m.change_seq, m.creator_id.get(),
                   m.client_message_id.get(), m.content.decode(), m.edited, m.deleted,
                   m.sound.decode() if m.sound else None)


def _take_messages(p) -> List[Message]:
    try:
        return [Message.of(p.contents.items[i]) for i in range(p.contents.len)]
    finally:
        lib.ember_message_list_free(p)


@dataclass(frozen=True)
class Event:
    """An event: `kind` is a name ("message_created", "typing", ...); unused fields None."""
    kind: str
    room_id: uuid.UUID
    user_id: uuid.UUID
    message: Optional[Message]
    flag: bool
    unread: int
    resume_from: int


class Subscription:
    """A room or user subscription. Use from one thread at a time; `close()` (or leaving
    the `with` block) unsubscribes. Iterating yields events until the stream ends."""

    def __init__(self, handle: c_void_p):
        self._handle = handle

    def __enter__(self) -> "Subscription":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._handle:
            lib.ember_subscription_free(self._handle)
            self._handle = None

    @property
    def head_change_seq(self) -> int:
        out = c_uint64()
        check(lib.ember_subscription_head_change_seq(self._handle, byref(out)))
        return out.value

    def next(self, timeout_ms: int = -1) -> Optional[Event]:
        """The next event; None when none came in time. Raises EmberError once the
        subscription ended (EMBER_ERR_ENDED) or the engine closed (EMBER_ERR_CLOSED)."""
        if not self._handle:
            raise EmberError(ERR_ENDED, "the subscription is closed")
        p = POINTER(CEvent)()
        status = lib.ember_subscription_next(self._handle, timeout_ms, byref(p))
        if status == TIMEOUT:
            return None
        check(status)
        try:
            e = p.contents
            message = Message.of(e.message.contents) if e.message else None
            return Event(EVENT_KINDS.get(e.kind, "unknown"), e.room_id.get(),
                         e.user_id.get(), message, e.flag, e.unread, e.resume_from)
        finally:
            lib.ember_event_free(p)

    def events(self, timeout_ms: int = -1) -> Iterator[Event]:
        """Events until none comes within `timeout_ms` or the stream ends."""
        while True:
            try:
                event = self.next(timeout_ms)
            except EmberError as e:
                if e.status in (ERR_ENDED, ERR_CLOSED):
                    return
                raise
            if event is None:
                return
            yield event

    def __iter__(self) -> Iterator[Event]:
        return self.events(-1)


class Engine:
    """An open engine; usable from many threads at once. A context manager: leaving the
    `with` block closes it."""

    def __init__(self, handle: c_void_p):
        self._handle = handle

    @classmethod
    def open(cls, path: str, **options) -> "Engine":
        """Opens the database at `path`; keyword arguments set ember_options fields, e.g.
        password_memory_kib=8, post_rate_per_second=1000."""
        o = COptions()
        check(lib.ember_options_init(byref(o)))
        for name, value in options.items():
            if name not in dict(COptions._fields_) or name == "struct_size":
                raise TypeError(f"unknown option {name}")
            setattr(o, name, value)
        handle = c_void_p()
        check(lib.ember_engine_open(_text(path), byref(o), byref(handle)))
        return cls(handle)

    def __enter__(self) -> "Engine":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._handle:
            check(lib.ember_engine_close(self._handle))
            self._handle = None

    @property
    def h(self) -> c_void_p:
        if not self._handle:
            raise EmberError(ERR_CLOSED, "the engine is closed")
        return self._handle

    # Users and sessions.
    def create_user(self, login: str, name: str, password: str, role: str = "member") -> User:
        p = POINTER(CUser)()
        check(lib.ember_create_user(self.h, _text(login), _text(name), _text(password),
                                    ROLES[role], byref(p)))
        return User.take(p)

    def create_bot(self, login: str, name: str) -> Tuple[User, str]:
        p, key = POINTER(CUser)(), c_void_p()
        check(lib.ember_create_bot(self.h, _text(login), _text(name), byref(p), byref(key)))
        return User.take(p), _take_string(key)

    def login(self, login: str, password: str) -> Tuple[str, uuid.UUID]:
        token, user = c_void_p(), CUuid()
        check(lib.ember_login(self.h, _text(login), _text(password), byref(token), byref(user)))
        return _take_string(token), user.get()

    def authenticate(self, token: str) -> User:
        p = POINTER(CUser)()
        check(lib.ember_authenticate(self.h, _text(token), byref(p)))
        return User.take(p)

    def revoke_session(self, token: str) -> None:
        check(lib.ember_revoke_session(self.h, _text(token)))

    def deactivate_user(self, user: uuid.UUID) -> None:
        check(lib.ember_deactivate_user(self.h, CUuid.of(user)))

    def user(self, user: uuid.UUID) -> User:
        p = POINTER(CUser)()
        check(lib.ember_user_get(self.h, CUuid.of(user), byref(p)))
        return User.take(p)

    # Rooms.
    def _take_room(self, p) -> Room:
        try:
            return Room.of(p.contents)
        finally:
            lib.ember_room_free(p)

    def create_room(self, creator: uuid.UUID, name: str, kind: str = "open",
                    members=()) -> Room:
        ids = (CUuid * max(len(members), 1))(*[CUuid.of(m) for m in members])
        p = POINTER(CRoom)()
        check(lib.ember_create_room(self.h, CUuid.of(creator), ROOM_KINDS[kind], _text(name),
                                    ids, len(members), byref(p)))
        return self._take_room(p)

    def direct_room(self, creator: uuid.UUID, others) -> Room:
        ids = (CUuid * max(len(others), 1))(*[CUuid.of(m) for m in others])
        p = POINTER(CRoom)()
        check(lib.ember_direct_room(self.h, CUuid.of(creator), ids, len(others), byref(p)))
        return self._take_room(p)

    def add_member(self, actor: uuid.UUID, room: uuid.UUID, user: uuid.UUID) -> None:
        check(lib.ember_add_member(self.h, CUuid.of(actor), CUuid.of(room), CUuid.of(user)))

    def remove_member(self, actor: uuid.UUID, room: uuid.UUID, user: uuid.UUID) -> None:
        check(lib.ember_remove_member(self.h, CUuid.of(actor), CUuid.of(room), CUuid.of(user)))

    def set_involvement(self, user: uuid.UUID, room: uuid.UUID, involvement: str) -> None:
        check(lib.ember_set_involvement(self.h, CUuid.of(user), CUuid.of(room),
                                        INVOLVEMENTS[involvement]))

    def rooms_for(self, user: uuid.UUID) -> List[RoomSummary]:
        p = POINTER(CRoomList)()
        check(lib.ember_rooms_for(self.h, CUuid.of(user), byref(p)))
        try:
            return [
                RoomSummary(Room.of(s.room), _name_of(INVOLVEMENTS, s.involvement), s.unread,
                            s.last_read_seq)
                for s in (p.contents.items[i] for i in range(p.contents.len))
            ]
        finally:
            lib.ember_room_list_free(p)

    def mark_read(self, user: uuid.UUID, room: uuid.UUID, seq: int) -> int:
        unread = c_uint64()
        check(lib.ember_mark_read(self.h, CUuid.of(user), CUuid.of(room), seq, byref(unread)))
        return unread.value

    # Messages.
    def _take_message(self, p) -> Message:
        try:
            return Message.of(p.contents)
        finally:
            lib.ember_message_free(p)

    def post(self, user: uuid.UUID, room: uuid.UUID, content: str,
             client_message_id: Optional[uuid.UUID] = None) -> Tuple[Message, bool]:
        """Posts exactly once per (room, client_message_id); returns (message, duplicate)."""
        cid = client_message_id or uuid.uuid4()
        p, duplicate = POINTER(CMessage)(), c_bool()
        check(lib.ember_post(self.h, CUuid.of(user), CUuid.of(room), CUuid.of(cid),
                             _text(content), byref(p), byref(duplicate)))
        return self._take_message(p), duplicate.value

    def edit(self, user: uuid.UUID, message: uuid.UUID, content: str) -> Message:
        p = POINTER(CMessage)()
        check(lib.ember_edit_message(self.h, CUuid.of(user), CUuid.of(message), _text(content),
                                     byref(p)))
        return self._take_message(p)

    def delete(self, user: uuid.UUID, message: uuid.UUID) -> Message:
        p = POINTER(CMessage)()
        check(lib.ember_delete_message(self.h, CUuid.of(user), CUuid.of(message), byref(p)))
        return self._take_message(p)

    def history(self, user: uuid.UUID, room: uuid.UUID, before: int = 0,
                limit: int = 50) -> List[Message]:
        p = POINTER(CMessageList)()
        check(lib.ember_messages_before(self.h, CUuid.of(user), CUuid.of(room), before, limit,
                                        byref(p)))
        return _take_messages(p)

    def changes_since(self, user: uuid.UUID, room: uuid.UUID, since: int,
                      limit: int = 1000) -> Tuple[List[Message], bool, int]:
        p, more, head = POINTER(CMessageList)(), c_bool(), c_uint64()
        check(lib.ember_changes_since(self.h, CUuid.of(user), CUuid.of(room), since, limit,
                                      byref(p), byref(more), byref(head)))
        return _take_messages(p), more.value, head.value

    def search(self, user: uuid.UUID, text: str, limit: int = 20) -> List[Message]:
        p = POINTER(CMessageList)()
        check(lib.ember_search(self.h, CUuid.of(user), _text(text), limit, byref(p)))
        return _take_messages(p)

    # Live.
    def subscribe(self, user: uuid.UUID, room: uuid.UUID,
                  since: Optional[int] = None) -> Subscription:
        handle = c_void_p()
        if since is None:
            check(lib.ember_subscribe_room(self.h, CUuid.of(user), CUuid.of(room), byref(handle)))
        else:
            check(lib.ember_subscribe_room_since(self.h, CUuid.of(user), CUuid.of(room), since,
                                                 byref(handle)))
        return Subscription(handle)

    def subscribe_user(self, user: uuid.UUID) -> Subscription:
        handle = c_void_p()
        check(lib.ember_subscribe_user(self.h, CUuid.of(user), byref(handle)))
        return Subscription(handle)

    def presence_connect(self, user: uuid.UUID, room: uuid.UUID) -> CPresence:
        p = CPresence()
        check(lib.ember_presence_connect(self.h, CUuid.of(user), CUuid.of(room), byref(p)))
        return p

    def presence_heartbeat(self, presence: CPresence) -> None:
        check(lib.ember_presence_heartbeat(self.h, byref(presence)))

    def presence_disconnect(self, presence: CPresence) -> None:
        check(lib.ember_presence_disconnect(self.h, byref(presence)))

    def online_members(self, user: uuid.UUID, room: uuid.UUID) -> List[uuid.UUID]:
        p = POINTER(CUuidList)()
        check(lib.ember_online_members(self.h, CUuid.of(user), CUuid.of(room), byref(p)))
        try:
            return [p.contents.items[i].get() for i in range(p.contents.len)]
        finally:
            lib.ember_uuid_list_free(p)

    def typing(self, user: uuid.UUID, room: uuid.UUID, active: bool = True) -> None:
        check(lib.ember_typing(self.h, CUuid.of(user), CUuid.of(room), active))

    def stats(self) -> dict:
        s = CStats(struct_size=ctypes.sizeof(CStats))
        check(lib.ember_engine_stats(self.h, byref(s)))
        return {name: getattr(s, name) for name, _ in CStats._fields_[1:]}


def version() -> str:
    return lib.ember_version().decode()
