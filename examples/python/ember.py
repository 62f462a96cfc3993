"""ember.py: a Pythonic ctypes wrapper over libember, the C ABI of the Ember chat engine.

    with Engine.open("chat.db", password_memory_kib=8) as engine:
        ann = engine.create_user("ann", "Ann", "correct horse", role="admin")
        room = engine.create_room(ann.id, "Lobby")
        message, duplicate = engine.post(ann.id, room.id, "hello")
        with engine.subscribe(ann.id, room.id, since=0) as sub:
            for event in sub.events(timeout_ms=100):
                print(event.kind, event.message.content)

Failures raise EmberError carrying the status (number and name), libember's message and,
when rate limited, retry_after_ms. Ids are uuid.UUID. The ctypes layer (structs,
signatures, loading libember from EMBER_LIB or target/{debug,release}) is ember_c.py.
"""

import ctypes
import uuid
from ctypes import POINTER, byref, c_bool, c_size_t, c_uint64, c_void_p
from dataclasses import dataclass
from typing import Iterator, List, Optional, Tuple

# Re-exported for hosts that reach the C layer (ember.lib, ember.CMessage, ...).
from ember_c import (  # noqa: F401
    ERR_CLOSED, ERR_ENDED, EVENT_KINDS, INVOLVEMENTS, OK, REQUEST_KINDS, ROLES, ROOM_KINDS,
    TIMEOUT, CCompletion, CEvent, CMemberList, CMessage, CMessageList, COptions,
    CPluginStatusList, CPresence, CRoom, CRoomArray, CRoomList, CStats, CUser, CUserList,
    CUuid, CUuidList, EmberError, _name_of, _take_string, _text, check, lib,
)


@dataclass(frozen=True)
class User:
    id: uuid.UUID
    login: str
    name: str
    role: str
    active: bool

    @classmethod
    def of(cls, u: CUser) -> "User":
        return cls(u.id.get(), u.login.decode(), u.name.decode(), _name_of(ROLES, u.role),
                   u.active)

    @classmethod
    def take(cls, p) -> "User":
        try:
            return cls.of(p.contents)
        finally:
            lib.ember_user_free(p)


@dataclass(frozen=True)
class Member:
    user: User
    involvement: str


@dataclass(frozen=True)
class PluginStatus:
    name: str
    enabled: bool
    fault: Optional[str]


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
    users: Tuple[uuid.UUID, ...] = ()  # "notify": whom to notify


class Subscription:
    """A room or user subscription, or the notification stream. Use from one thread at a time; `close()` (or leaving
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
            users = tuple(e.users[i].get() for i in range(e.users_len))
            return Event(EVENT_KINDS.get(e.kind, "unknown"), e.room_id.get(),
                         e.user_id.get(), message, e.flag, e.unread, e.resume_from, users)
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


@dataclass(frozen=True)
class Completion:
    """The committed result of a pipelined request: `status` is "EMBER_OK" or an error
    name (then `error` says why); `message` for post/edit/delete, `unread` for mark_read."""
    ticket: int
    kind: str
    status: str
    error: Optional[str]
    message: Optional[Message]
    duplicate: bool
    unread: int

    @property
    def ok(self) -> bool:
        return self.status == "EMBER_OK"


class Pipeline:
    """Pipelined writes: each submit returns a ticket at once (never waits; EmberError
    EMBER_ERR_OVERLOADED when the writer's queue is full), and next() collects completions
    in commit order. Use from one thread at a time; `close()` frees it."""

    def __init__(self, handle: c_void_p):
        self._handle = handle

    def __enter__(self) -> "Pipeline":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._handle:
            lib.ember_pipeline_free(self._handle)
            self._handle = None

    def _submit(self, fn, *args) -> int:
        ticket = c_uint64()
        check(fn(self._handle, *args, byref(ticket)))
        return ticket.value

    def post(self, user: uuid.UUID, room: uuid.UUID, content: str,
             client_message_id: Optional[uuid.UUID] = None) -> int:
        cid = client_message_id or uuid.uuid4()
        return self._submit(lib.ember_pipeline_post, CUuid.of(user), CUuid.of(room),
                            CUuid.of(cid), _text(content))

    def edit(self, user: uuid.UUID, message: uuid.UUID, content: str) -> int:
        return self._submit(lib.ember_pipeline_edit, CUuid.of(user), CUuid.of(message),
                            _text(content))

    def delete(self, user: uuid.UUID, message: uuid.UUID) -> int:
        return self._submit(lib.ember_pipeline_delete, CUuid.of(user), CUuid.of(message))

    def mark_read(self, user: uuid.UUID, room: uuid.UUID, seq: int) -> int:
        return self._submit(lib.ember_pipeline_mark_read, CUuid.of(user), CUuid.of(room), seq)

    @property
    def pending(self) -> int:
        out = c_size_t()
        check(lib.ember_pipeline_pending(self._handle, byref(out)))
        return out.value

    def next(self, timeout_ms: int = -1) -> Optional[Completion]:
        """The next completion; None when none came in time or nothing is pending."""
        p = POINTER(CCompletion)()
        status = lib.ember_pipeline_next(self._handle, timeout_ms, byref(p))
        if status == TIMEOUT:
            return None
        check(status)
        try:
            c = p.contents
            return Completion(
                c.ticket, _name_of(REQUEST_KINDS, c.kind),
                lib.ember_status_name(c.status).decode(),
                c.error.decode() if c.error else None,
                Message.of(c.message.contents) if c.message else None, c.duplicate, c.unread)
        finally:
            lib.ember_completion_free(p)

    def drain(self, timeout_ms: int = 5000) -> List[Completion]:
        """Every pending completion, each waited for at most `timeout_ms`."""
        done = []
        while self.pending:
            c = self.next(timeout_ms)
            if c is None:
                break
            done.append(c)
        return done


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

    def user_by_login(self, login: str) -> User:
        p = POINTER(CUser)()
        check(lib.ember_user_by_login(self.h, _text(login), byref(p)))
        return User.take(p)

    def users(self) -> List[User]:
        """Every user, oldest first (host-level)."""
        p = POINTER(CUserList)()
        check(lib.ember_users(self.h, byref(p)))
        try:
            return [User.of(p.contents.items[i]) for i in range(p.contents.len)]
        finally:
            lib.ember_user_list_free(p)

    def create_session(self, user: uuid.UUID) -> str:
        """A session token for `user` without a password (host-level)."""
        token = c_void_p()
        check(lib.ember_create_session(self.h, CUuid.of(user), byref(token)))
        return _take_string(token)

    def set_bot_webhook(self, bot: uuid.UUID, url: Optional[str]) -> None:
        """Sets a bot's webhook URL, or with None clears it."""
        check(lib.ember_set_bot_webhook(self.h, CUuid.of(bot),
                                        _text(url) if url is not None else None))

    def bot_webhook(self, bot: uuid.UUID) -> Optional[str]:
        out = c_void_p()
        check(lib.ember_bot_webhook(self.h, CUuid.of(bot), byref(out)))
        return _take_string(out) if out.value else None

    def bot_webhook_secret(self, bot: uuid.UUID) -> str:
        """The secret the bot's webhook calls are signed with (HMAC-SHA256 of the body)."""
        out = c_void_p()
        check(lib.ember_bot_webhook_secret(self.h, CUuid.of(bot), byref(out)))
        return _take_string(out)

    def rotate_bot_webhook_secret(self, bot: uuid.UUID) -> str:
        """Replaces the bot's webhook secret; returns the new one."""
        out = c_void_p()
        check(lib.ember_rotate_bot_webhook_secret(self.h, CUuid.of(bot), byref(out)))
        return _take_string(out)

    def plugins(self) -> List[PluginStatus]:
        p = POINTER(CPluginStatusList)()
        check(lib.ember_engine_plugins(self.h, byref(p)))
        try:
            return [
                PluginStatus(s.name.decode(), s.enabled, s.fault.decode() if s.fault else None)
                for s in (p.contents.items[i] for i in range(p.contents.len))
            ]
        finally:
            lib.ember_plugin_status_list_free(p)

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

    def room(self, user: uuid.UUID, room: uuid.UUID) -> Room:
        p = POINTER(CRoom)()
        check(lib.ember_room_get(self.h, CUuid.of(user), CUuid.of(room), byref(p)))
        return self._take_room(p)

    def all_rooms(self) -> List[Room]:
        """Every room (host-level)."""
        p = POINTER(CRoomArray)()
        check(lib.ember_all_rooms(self.h, byref(p)))
        try:
            return [Room.of(p.contents.items[i]) for i in range(p.contents.len)]
        finally:
            lib.ember_room_array_free(p)

    def members(self, user: uuid.UUID, room: uuid.UUID) -> List[Member]:
        p = POINTER(CMemberList)()
        check(lib.ember_members(self.h, CUuid.of(user), CUuid.of(room), byref(p)))
        try:
            return [
                Member(User.of(m.user), _name_of(INVOLVEMENTS, m.involvement))
                for m in (p.contents.items[i] for i in range(p.contents.len))
            ]
        finally:
            lib.ember_member_list_free(p)

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

    def message(self, user: uuid.UUID, message: uuid.UUID) -> Message:
        p = POINTER(CMessage)()
        check(lib.ember_message_get(self.h, CUuid.of(user), CUuid.of(message), byref(p)))
        return self._take_message(p)

    def messages_around(self, user: uuid.UUID, message: uuid.UUID,
                        n: int = 10) -> List[Message]:
        """The message with up to `n` messages on each side, oldest first."""
        p = POINTER(CMessageList)()
        check(lib.ember_messages_around(self.h, CUuid.of(user), CUuid.of(message), n,
                                        byref(p)))
        return _take_messages(p)

    def pipeline(self) -> Pipeline:
        """A new Pipeline for writes that must not wait on a commit."""
        handle = c_void_p()
        check(lib.ember_pipeline_new(self.h, None, None, None, byref(handle)))
        return Pipeline(handle)

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

    def subscribe_notifications(self) -> Subscription:
        """The stream of "notify" events: each new message and the users to notify."""
        handle = c_void_p()
        check(lib.ember_subscribe_notifications(self.h, byref(handle)))
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
