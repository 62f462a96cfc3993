/*
 * chat.c: a host of libember in C.
 *
 * Opens an engine, creates two users and a room, posts (and retries a post with the same
 * client_message_id, which returns the original), follows the room live, disconnects,
 * misses some messages, reconnects with `since` and receives exactly the missed ones.
 * Also follows a user's room list through the callback API and pipelines two writes.
 *
 * Build: cc -I include examples/c/chat.c -L target/debug -lember -o chat
 * Run:   LD_LIBRARY_PATH=target/debug ./chat /tmp/chat.db
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ember.h"

#define CHECK(call)                                                                  \
    do {                                                                             \
        ember_status s_ = (call);                                               \
        if (s_ != EMBER_OK) {                                                        \
            fprintf(stderr, "%s:%d: %s: %s: %s\n", __FILE__, __LINE__, #call,        \
                    ember_status_name(s_), ember_last_error());                      \
            exit(1);                                                                 \
        }                                                                            \
    } while (0)

#define EXPECT(cond)                                                                 \
    do {                                                                             \
        if (!(cond)) {                                                               \
            fprintf(stderr, "%s:%d: expected %s\n", __FILE__, __LINE__, #cond);      \
            exit(1);                                                                 \
        }                                                                            \
    } while (0)

static bool same(ember_uuid a, ember_uuid b) { return memcmp(a.bytes, b.bytes, 16) == 0; }

/* Posts `text` as a fresh message; returns its change_seq. */
static uint64_t post(ember_engine *engine, ember_uuid user, ember_uuid room, const char *text) {
    ember_uuid cid;
    ember_message *m;
    bool duplicate;
    CHECK(ember_uuid_new(&cid));
    CHECK(ember_post(engine, user, room, cid, text, &m, &duplicate));
    EXPECT(!duplicate);
    uint64_t change_seq = m->change_seq;
    ember_message_free(m);
    return change_seq;
}

/* The next message event, skipping others (membership, presence, typing); NULL when none
 * comes within the timeout. */
static ember_event *next_message(ember_subscription *sub, int timeout_ms) {
    for (;;) {
        ember_event *event;
        ember_status s = ember_subscription_next(sub, timeout_ms, &event);
        if (s == EMBER_TIMEOUT) return NULL;
        CHECK(s);
        if (event->message != NULL) return event;
        ember_event_free(event);
    }
}

/* The callback side: counts unread updates; set from the subscription's own thread. */
struct room_list_watch {
    atomic_int unread_events;
    atomic_int destroyed;
};

static void on_room_list_event(void *user_data, const ember_event *event) {
    struct room_list_watch *watch = user_data;
    if (event->kind == EMBER_EVENT_UNREAD) atomic_fetch_add(&watch->unread_events, 1);
}

static void on_room_list_destroy(void *user_data) {
    struct room_list_watch *watch = user_data;
    atomic_store(&watch->destroyed, 1);
}

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : "chat.db";
    printf("libember %s, ABI %u\n", ember_version(), ember_abi_version());
    EXPECT(ember_abi_version() == EMBER_ABI_VERSION);

    ember_options options;
    CHECK(ember_options_init(&options));
    options.password_memory_kib = 8; /* cheap hashes: this is a demo */
    options.password_iterations = 1;
    options.post_rate_per_second = 1000;
    options.post_burst = 1000;
    ember_engine *engine;
    CHECK(ember_engine_open(path, &options, &engine));

    ember_user *ann, *bob;
    CHECK(ember_create_user(engine, "ann", "Ann", "correct horse", EMBER_ROLE_ADMIN, &ann));
    CHECK(ember_create_user(engine, "bob", "Bob", "battery staple", EMBER_ROLE_MEMBER, &bob));

    char *token;
    ember_uuid logged_in;
    CHECK(ember_login(engine, "bob", "battery staple", &token, &logged_in));
    ember_user *who;
    CHECK(ember_authenticate(engine, token, &who));
    EXPECT(same(who->id, bob->id) && same(logged_in, bob->id));
    printf("bob logged in as %s\n", who->name);
    ember_user_free(who);

    ember_room *room;
    CHECK(ember_create_room(engine, ann->id, EMBER_ROOM_CLOSED, "Lobby", &bob->id, 1, &room));

    /* Bob's room list, through the callback API. */
    struct room_list_watch watch = {0};
    ember_subscription *room_list;
    CHECK(ember_subscribe_user(engine, bob->id, &room_list));
    CHECK(ember_subscription_set_callback(room_list, on_room_list_event, &watch,
                                          on_room_list_destroy));

    /* Bob follows the room live. */
    ember_subscription *sub;
    CHECK(ember_subscribe_room(engine, bob->id, room->id, &sub));

    ember_uuid cid;
    CHECK(ember_uuid_new(&cid));
    ember_message *first, *again;
    bool duplicate;
    CHECK(ember_post(engine, ann->id, room->id, cid, "  hello, Bob  ", &first, &duplicate));
    EXPECT(!duplicate && strcmp(first->content, "hello, Bob") == 0);
    /* A retry with the same client_message_id (say, after a timeout) gets the original. */
    CHECK(ember_post(engine, ann->id, room->id, cid, "hello, Bob", &again, &duplicate));
    EXPECT(duplicate && same(again->id, first->id) && again->seq == first->seq);
    printf("retry returned the original message (seq %llu)\n", (unsigned long long)again->seq);
    ember_message_free(again);

    ember_event *event = next_message(sub, 5000);
    EXPECT(event != NULL);
    EXPECT(event->kind == EMBER_EVENT_MESSAGE_CREATED && same(event->message->id, first->id));
    uint64_t cursor = event->message->change_seq;
    printf("live: %s\n", event->message->content);
    ember_event_free(event);
    /* The retry wrote nothing, so nothing more arrives. */
    EXPECT(next_message(sub, 100) == NULL);

    /* Bob goes away; Ann posts and edits while he is gone. */
    ember_subscription_free(sub);
    post(engine, ann->id, room->id, "missed one");
    post(engine, ann->id, room->id, "missed two");
    ember_message *edited;
    CHECK(ember_edit_message(engine, ann->id, first->id, "hello again, Bob", &edited));
    ember_message_free(edited);

    /* Bob reconnects from his cursor and gets exactly what he missed, then live events. */
    CHECK(ember_subscribe_room_since(engine, bob->id, room->id, cursor, &sub));
    const char *expected[] = {"missed one", "missed two", "hello again, Bob"};
    for (int i = 0; i < 3; i++) {
        event = next_message(sub, 5000);
        EXPECT(event != NULL && event->message->change_seq > cursor);
        EXPECT(strcmp(event->message->content, expected[i]) == 0);
        printf("missed: %s%s\n", event->message->content,
               event->kind == EMBER_EVENT_MESSAGE_EDITED ? " (edited)" : "");
        cursor = event->message->change_seq;
        ember_event_free(event);
    }
    EXPECT(next_message(sub, 100) == NULL);
    uint64_t live_seq = post(engine, ann->id, room->id, "back live");
    event = next_message(sub, 5000);
    EXPECT(event != NULL && event->message->change_seq == live_seq && event->message->change_seq > cursor);
    printf("live: %s\n", event->message->content);
    ember_event_free(event);

    /* History, unread counts, read position. */
    ember_message_list *history;
    CHECK(ember_messages_before(engine, bob->id, room->id, 0, 50, &history));
    EXPECT(history->len == 4);
    ember_room_list *rooms;
    CHECK(ember_rooms_for(engine, bob->id, &rooms));
    EXPECT(rooms->len == 1 && rooms->items[0].unread == 4);
    printf("%s: %llu unread\n", rooms->items[0].room.name,
           (unsigned long long)rooms->items[0].unread);
    uint64_t unread;
    CHECK(ember_mark_read(engine, bob->id, room->id, history->items[history->len - 1].seq,
                          &unread));
    EXPECT(unread == 0);
    ember_room_list_free(rooms);
    ember_message_list_free(history);

    /* The callback saw Bob's unread count move, on its own thread. */
    for (int i = 0; i < 500 && atomic_load(&watch.unread_events) == 0; i++) {
        struct timespec ten_ms = {0, 10 * 1000 * 1000};
        nanosleep(&ten_ms, NULL);
    }
    EXPECT(atomic_load(&watch.unread_events) > 0);
    printf("room list callback: %d unread updates\n", atomic_load(&watch.unread_events));
    ember_subscription_free(room_list);
    EXPECT(atomic_load(&watch.destroyed) == 1);

    /* Pipelined writes: submit without waiting, then collect the completions. */
    ember_pipeline *pipeline;
    CHECK(ember_pipeline_new(engine, NULL, NULL, NULL, &pipeline));
    uint64_t tickets[2];
    ember_uuid pipelined_cid;
    CHECK(ember_uuid_new(&pipelined_cid));
    CHECK(ember_pipeline_post(pipeline, ann->id, room->id, pipelined_cid, "pipelined",
                              &tickets[0]));
    CHECK(ember_pipeline_mark_read(pipeline, ann->id, room->id, 1, &tickets[1]));
    for (int i = 0; i < 2; i++) {
        ember_completion *done;
        CHECK(ember_pipeline_next(pipeline, 5000, &done));
        EXPECT(done->status == EMBER_OK && done->ticket == tickets[i]);
        if (done->kind == EMBER_REQUEST_POST)
            printf("pipelined: %s (seq %llu)\n", done->message->content,
                   (unsigned long long)done->message->seq);
        ember_completion_free(done);
    }
    ember_pipeline_free(pipeline);

    struct ember_stats stats = {.struct_size = sizeof stats};
    CHECK(ember_engine_stats(engine, &stats));
    printf("writer: %llu commands in %llu transactions\n", (unsigned long long)stats.commands,
           (unsigned long long)stats.transactions);

    /* Closing the engine ends the subscription; it must still be freed. */
    CHECK(ember_engine_close(engine));
    ember_status status;
    while ((status = ember_subscription_next(sub, 1000, &event)) == EMBER_OK)
        ember_event_free(event);
    EXPECT(status == EMBER_ERR_CLOSED);
    printf("after close: %s\n", ember_last_error());
    ember_subscription_free(sub);

    ember_message_free(first);
    ember_room_free(room);
    ember_user_free(ann);
    ember_user_free(bob);
    ember_string_free(token);
    printf("chat: OK\n");
    return 0;
}
