"""ember_c.py: the C layer under ember.py: libember loaded with ctypes, its structs, the
signatures of its functions, and EmberError. Hosts use ember.py; this module is for
reaching the C functions directly (as the tests do).

The library is loaded from the path in the EMBER_LIB environment variable, or from
target/debug or target/release next to this checkout.
"""

import ctypes
import os
import uuid
from ctypes import (
    POINTER,
    Structure,
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

OK = 0
TIMEOUT = 5
ERR_ENDED = 6
ERR_CLOSED = 16

ROLES = {"admin": 0, "member": 1, "bot": 2}
ROOM_KINDS = {"open": 0, "closed": 1, "direct": 2}
INVOLVEMENTS = {"invisible": 0, "nothing": 1, "mentions": 2, "everything": 3}
REQUEST_KINDS = {"post": 0, "edit": 1, "delete": 2, "mark_read": 3}
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
        ("plugin_budget_ms", c_uint64),
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


class CUserList(Structure):
    _fields_ = [("items", POINTER(CUser)), ("len", c_size_t)]


class CRoomArray(Structure):
    _fields_ = [("items", POINTER(CRoom)), ("len", c_size_t)]


class CMember(Structure):
    _fields_ = [("user", CUser), ("involvement", c_int)]


class CMemberList(Structure):
    _fields_ = [("items", POINTER(CMember)), ("len", c_size_t)]


class CPluginStatus(Structure):
    _fields_ = [("name", c_char_p), ("enabled", c_bool), ("fault", c_char_p)]


class CPluginStatusList(Structure):
    _fields_ = [("items", POINTER(CPluginStatus)), ("len", c_size_t)]


class CCompletion(Structure):
    _fields_ = [
        ("ticket", c_uint64), ("kind", c_int), ("status", c_int), ("error", c_char_p),
        ("retry_after_ms", c_uint64), ("message", POINTER(CMessage)), ("duplicate", c_bool),
        ("unread", c_uint64),
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
    "ember_authenticate_bot": (_S, [c_void_p, c_char_p, _P(_P(CUser))]),
    "ember_revoke_all_sessions": (_S, [c_void_p, CUuid, _P(c_uint64)]),
    "ember_user_by_login": (_S, [c_void_p, c_char_p, _P(_P(CUser))]),
    "ember_users": (_S, [c_void_p, _P(_P(CUserList))]),
    "ember_user_list_free": (None, [_P(CUserList)]),
    "ember_set_bot_webhook": (_S, [c_void_p, CUuid, c_char_p]),
    "ember_bot_webhook": (_S, [c_void_p, CUuid, _P(c_void_p)]),
    "ember_bot_webhook_secret": (_S, [c_void_p, CUuid, _P(c_void_p)]),
    "ember_rotate_bot_webhook_secret": (_S, [c_void_p, CUuid, _P(c_void_p)]),
    "ember_room_get": (_S, [c_void_p, CUuid, CUuid, _P(_P(CRoom))]),
    "ember_all_rooms": (_S, [c_void_p, _P(_P(CRoomArray))]),
    "ember_room_array_free": (None, [_P(CRoomArray)]),
    "ember_members": (_S, [c_void_p, CUuid, CUuid, _P(_P(CMemberList))]),
    "ember_member_list_free": (None, [_P(CMemberList)]),
    "ember_message_get": (_S, [c_void_p, CUuid, CUuid, _P(_P(CMessage))]),
    "ember_messages_around": (_S, [c_void_p, CUuid, CUuid, c_size_t, _P(_P(CMessageList))]),
    "ember_subscribe_notifications": (_S, [c_void_p, _P(c_void_p)]),
    "ember_engine_plugins": (_S, [c_void_p, _P(_P(CPluginStatusList))]),
    "ember_plugin_status_list_free": (None, [_P(CPluginStatusList)]),
    "ember_pipeline_new": (_S, [c_void_p, c_void_p, c_void_p, c_void_p, _P(c_void_p)]),
    "ember_pipeline_post": (_S, [c_void_p, CUuid, CUuid, CUuid, c_char_p, _P(c_uint64)]),
    "ember_pipeline_edit": (_S, [c_void_p, CUuid, CUuid, c_char_p, _P(c_uint64)]),
    "ember_pipeline_delete": (_S, [c_void_p, CUuid, CUuid, _P(c_uint64)]),
    "ember_pipeline_mark_read": (_S, [c_void_p, CUuid, CUuid, c_uint64, _P(c_uint64)]),
    "ember_pipeline_pending": (_S, [c_void_p, _P(c_size_t)]),
    "ember_pipeline_next": (_S, [c_void_p, c_int32, _P(_P(CCompletion))]),
    "ember_completion_free": (None, [_P(CCompletion)]),
    "ember_pipeline_free": (None, [c_void_p]),
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
