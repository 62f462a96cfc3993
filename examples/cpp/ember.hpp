// ember.hpp: a small RAII C++ wrapper over libember's C ABI (header only, C++17).
//
// ember::Engine, ember::Subscription and ember::Pipeline own their handles and free them
// in their destructors; failures throw ember::Error carrying the status and libember's message.
// Strings and messages are copied into C++ values, so nothing needs freeing by hand.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "ember.h"

/// UUIDs compare by their bytes (global, so that lookup finds it for the C struct).
inline bool operator==(const ember_uuid &a, const ember_uuid &b) {
    for (int i = 0; i < 16; i++)
        if (a.bytes[i] != b.bytes[i]) return false;
    return true;
}

namespace ember {

/// A failed call: the status, libember's message and, when rate limited, how long to wait.
class Error : public std::runtime_error {
public:
    Error(ember_status status, const std::string &what, uint64_t retry_after_ms)
        : std::runtime_error(std::string(ember_status_name(status)) + ": " + what),
          status_(status), retry_after_ms_(retry_after_ms) {}
    ember_status status() const { return status_; }
    uint64_t retry_after_ms() const { return retry_after_ms_; }

private:
    ember_status status_;
    uint64_t retry_after_ms_;
};

/// Throws ember::Error unless `status` is EMBER_OK.
inline void check(ember_status status) {
    if (status != EMBER_OK) throw Error(status, ember_last_error(), ember_last_retry_after_ms());
}

using Uuid = ember_uuid;

inline Uuid new_uuid() {
    Uuid id;
    check(ember_uuid_new(&id));
    return id;
}

inline std::string to_string(const Uuid &id) {
    char buf[EMBER_UUID_STRING_LEN];
    check(ember_uuid_format(&id, buf, sizeof buf));
    return buf;
}

/// A message, copied out of libember.
struct Message {
    Uuid id, room_id, creator_id, client_message_id;
    uint64_t seq = 0, change_seq = 0;
    std::string content;
    bool edited = false, deleted = false;

    explicit Message(const ember_message &m)
        : id(m.id), room_id(m.room_id), creator_id(m.creator_id),
          client_message_id(m.client_message_id), seq(m.seq), change_seq(m.change_seq),
          content(m.content), edited(m.edited), deleted(m.deleted) {}
};

/// An event, copied out of libember; `message` is set for message events and `users`
/// (whom to notify) for EMBER_EVENT_NOTIFY.
struct Event {
    ember_event_kind kind;
    Uuid room_id, user_id;
    bool flag;
    std::optional<Message> message;
    std::vector<Uuid> users;

    explicit Event(const ember_event &e)
        : kind(e.kind), room_id(e.room_id), user_id(e.user_id), flag(e.flag) {
        if (e.message != nullptr) message.emplace(*e.message);
        if (e.users != nullptr) users.assign(e.users, e.users + e.users_len);
    }
};

/// The committed result of a pipelined request, copied out of libember.
struct Completion {
    uint64_t ticket;
    ember_request_kind kind;
    ember_status status;
    std::string error;               // set when status is not EMBER_OK
    std::optional<Message> message;  // post, edit, delete
    bool duplicate;
    uint64_t unread;                 // mark-read

    explicit Completion(const ember_completion &c)
        : ticket(c.ticket), kind(c.kind), status(c.status), error(c.error ? c.error : ""),
          duplicate(c.duplicate), unread(c.unread) {
        if (c.message != nullptr) message.emplace(*c.message);
    }
};

/// A user, copied out of libember.
struct User {
    Uuid id;
    std::string login, name;

    explicit User(ember_user *u) : id(u->id), login(u->login), name(u->name) {
        ember_user_free(u);
    }
};

/// The answer to a post.
struct Posted {
    Message message;
    bool duplicate;
};

/// A room or user subscription. Move-only; the destructor unsubscribes. Use from one
/// thread at a time.
class Subscription {
public:
    explicit Subscription(ember_subscription *handle) : handle_(handle) {}
    Subscription(Subscription &&other) noexcept : handle_(std::exchange(other.handle_, nullptr)) {}
    Subscription &operator=(Subscription &&other) noexcept {
        if (this != &other) {
            ember_subscription_free(handle_);
            handle_ = std::exchange(other.handle_, nullptr);
        }
        return *this;
    }
    Subscription(const Subscription &) = delete;
    Subscription &operator=(const Subscription &) = delete;
    ~Subscription() { ember_subscription_free(handle_); }

    /// The next event, or nothing when none came within `timeout_ms` (< 0: wait). Throws
    /// when the subscription ended (EMBER_ERR_ENDED, EMBER_ERR_CLOSED).
    std::optional<Event> next(int32_t timeout_ms) {
        ember_event *e = nullptr;
        ember_status s = ember_subscription_next(handle_, timeout_ms, &e);
        if (s == EMBER_TIMEOUT) return std::nullopt;
        check(s);
        Event event(*e);
        ember_event_free(e);
        return event;
    }

    uint64_t head_change_seq() const {
        uint64_t head = 0;
        check(ember_subscription_head_change_seq(handle_, &head));
        return head;
    }

private:
    ember_subscription *handle_;
};

/// Pipelined writes: each submit returns a ticket at once (never waits; a full writer
/// queue throws EMBER_ERR_OVERLOADED), next() collects completions in commit order.
/// Move-only; the destructor frees it. Use from one thread at a time.
class Pipeline {
public:
    explicit Pipeline(ember_pipeline *handle) : handle_(handle) {}
    Pipeline(Pipeline &&other) noexcept : handle_(std::exchange(other.handle_, nullptr)) {}
    Pipeline &operator=(Pipeline &&other) noexcept {
        if (this != &other) {
            ember_pipeline_free(handle_);
            handle_ = std::exchange(other.handle_, nullptr);
        }
        return *this;
    }
    Pipeline(const Pipeline &) = delete;
    Pipeline &operator=(const Pipeline &) = delete;
    ~Pipeline() { ember_pipeline_free(handle_); }

    uint64_t post(const Uuid &user, const Uuid &room, const Uuid &client_message_id,
                  const std::string &content) {
        uint64_t ticket = 0;
        check(ember_pipeline_post(handle_, user, room, client_message_id, content.c_str(),
                                  &ticket));
        return ticket;
    }

    uint64_t mark_read(const Uuid &user, const Uuid &room, uint64_t seq) {
        uint64_t ticket = 0;
        check(ember_pipeline_mark_read(handle_, user, room, seq, &ticket));
        return ticket;
    }

    /// The next completion, or nothing when none came in time or nothing is pending.
    std::optional<Completion> next(int32_t timeout_ms) {
        ember_completion *c = nullptr;
        ember_status s = ember_pipeline_next(handle_, timeout_ms, &c);
        if (s == EMBER_TIMEOUT) return std::nullopt;
        check(s);
        Completion done(*c);
        ember_completion_free(c);
        return done;
    }

private:
    ember_pipeline *handle_;
};

/// An open engine. Move-only; the destructor closes it. Usable from many threads at once.
class Engine {
public:
    /// Opens the database at `path`; `tune` may adjust the default options.
    template <typename Tune>
    static Engine open(const std::string &path, Tune tune) {
        ember_options options;
        check(ember_options_init(&options));
        tune(options);
        ember_engine *handle = nullptr;
        check(ember_engine_open(path.c_str(), &options, &handle));
        return Engine(handle);
    }
    static Engine open(const std::string &path) {
        return open(path, [](ember_options &) {});
    }

    Engine(Engine &&other) noexcept : handle_(std::exchange(other.handle_, nullptr)) {}
    Engine &operator=(Engine &&other) noexcept {
        if (this != &other) {
            close();
            handle_ = std::exchange(other.handle_, nullptr);
        }
        return *this;
    }
    Engine(const Engine &) = delete;
    Engine &operator=(const Engine &) = delete;
    ~Engine() { close(); }

    /// Commits what is queued and closes; later calls on this object throw.
    void close() {
        if (handle_ != nullptr) ember_engine_close(std::exchange(handle_, nullptr));
    }

    User create_user(const std::string &login, const std::string &name,
                     const std::string &password, ember_role role = EMBER_ROLE_MEMBER) {
        ember_user *u = nullptr;
        check(ember_create_user(handle(), login.c_str(), name.c_str(), password.c_str(),
                                static_cast<uint32_t>(role), &u));
        return User(u);
    }

    /// Creates a room and returns its id.
    Uuid create_room(const Uuid &creator, ember_room_kind kind, const std::string &name,
                     const std::vector<Uuid> &members = {}) {
        ember_room *r = nullptr;
        check(ember_create_room(handle(), creator, static_cast<uint32_t>(kind), name.c_str(),
                                members.data(), members.size(), &r));
        Uuid id = r->id;
        ember_room_free(r);
        return id;
    }

    Posted post(const Uuid &user, const Uuid &room, const Uuid &client_message_id,
                const std::string &content) {
        ember_message *m = nullptr;
        bool duplicate = false;
        check(ember_post(handle(), user, room, client_message_id, content.c_str(), &m,
                         &duplicate));
        Posted posted{Message(*m), duplicate};
        ember_message_free(m);
        return posted;
    }

    /// Subscribes to a room, live or (with `since`) replaying what came after the cursor.
    Subscription subscribe(const Uuid &user, const Uuid &room,
                           std::optional<uint64_t> since = std::nullopt) {
        ember_subscription *s = nullptr;
        if (since)
            check(ember_subscribe_room_since(handle(), user, room, *since, &s));
        else
            check(ember_subscribe_room(handle(), user, room, &s));
        return Subscription(s);
    }

    void set_involvement(const Uuid &user, const Uuid &room, ember_involvement involvement) {
        check(ember_set_involvement(handle(), user, room, static_cast<uint32_t>(involvement)));
    }

    /// The stream of EMBER_EVENT_NOTIFY events: each new message and whom to notify.
    Subscription subscribe_notifications() {
        ember_subscription *s = nullptr;
        check(ember_subscribe_notifications(handle(), &s));
        return Subscription(s);
    }

    /// A pipeline for writes that must not wait on a commit.
    Pipeline pipeline() {
        ember_pipeline *p = nullptr;
        check(ember_pipeline_new(handle(), nullptr, nullptr, nullptr, &p));
        return Pipeline(p);
    }

    std::vector<Message> history(const Uuid &user, const Uuid &room, size_t limit,
                                 uint64_t before = 0) {
        ember_message_list *list = nullptr;
        check(ember_messages_before(handle(), user, room, before, limit, &list));
        std::vector<Message> out;
        for (size_t i = 0; i < list->len; i++) out.emplace_back(list->items[i]);
        ember_message_list_free(list);
        return out;
    }

    ember_engine *handle() const {
        if (handle_ == nullptr) throw Error(EMBER_ERR_CLOSED, "the engine is closed", 0);
        return handle_;
    }

private:
    explicit Engine(ember_engine *handle) : handle_(handle) {}
    ember_engine *handle_;
};

}  // namespace ember
