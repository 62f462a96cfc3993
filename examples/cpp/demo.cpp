// demo.cpp: uses the RAII wrapper: open, post, retry, subscribe, reconnect with `since`,
// pipelined writes and the notification stream.
//
// Build: c++ -std=c++17 -I include -I examples/cpp examples/cpp/demo.cpp -L target/debug -lember
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "ember.hpp"

#define EXPECT(cond)                                                                 \
    do {                                                                             \
        if (!(cond)) {                                                               \
            std::cerr << __FILE__ << ":" << __LINE__ << ": expected " #cond "\n";    \
            std::exit(1);                                                            \
        }                                                                            \
    } while (0)

// The next message event, skipping presence, typing and membership events.
static std::optional<ember::Event> next_message(ember::Subscription &sub, int32_t timeout_ms) {
    while (auto event = sub.next(timeout_ms))
        if (event->message) return event;
    return std::nullopt;
}

int main(int argc, char **argv) try {
    std::string path = argc > 1 ? argv[1] : "demo.db";
    auto engine = ember::Engine::open(path, [](ember_options &o) {
        o.password_memory_kib = 8;
        o.password_iterations = 1;
    });
    auto ann = engine.create_user("ann", "Ann", "correct horse", EMBER_ROLE_ADMIN);
    auto bob = engine.create_user("bob", "Bob", "battery staple");
    auto room = engine.create_room(ann.id, EMBER_ROOM_CLOSED, "Kitchen", {bob.id});

    uint64_t cursor;
    {
        auto sub = engine.subscribe(bob.id, room);
        auto cid = ember::new_uuid();
        auto first = engine.post(ann.id, room, cid, "tea?");
        auto retry = engine.post(ann.id, room, cid, "tea?");
        EXPECT(!first.duplicate && retry.duplicate && retry.message.id == first.message.id);
        auto event = next_message(sub, 5000);
        EXPECT(event && event->message->content == "tea?");
        cursor = event->message->change_seq;
        std::cout << "live: " << event->message->content << "\n";
    }  // the subscription ends here

    engine.post(bob.id, room, ember::new_uuid(), "yes please");
    auto sub = engine.subscribe(bob.id, room, cursor);
    auto missed = next_message(sub, 5000);
    EXPECT(missed && missed->message->content == "yes please");
    EXPECT(!next_message(sub, 100));
    std::cout << "missed: " << missed->message->content << "\n";

    try {
        engine.post(bob.id, room, ember::new_uuid(), "   ");
        EXPECT(false);
    } catch (const ember::Error &e) {
        EXPECT(e.status() == EMBER_ERR_VALIDATION);
        std::cout << "refused: " << e.what() << "\n";
    }
    EXPECT(engine.history(bob.id, room, 10).size() == 2);

    // Pipelined writes, and the notification stream naming Ann for Bob's message.
    {
        auto notifications = engine.subscribe_notifications();
        engine.set_involvement(ann.id, room, EMBER_INVOLVEMENT_EVERYTHING);
        auto pipeline = engine.pipeline();
        uint64_t ticket = pipeline.post(bob.id, room, ember::new_uuid(), "pipelined");
        auto done = pipeline.next(5000);
        EXPECT(done && done->ticket == ticket && done->status == EMBER_OK);
        EXPECT(done->message && done->message->content == "pipelined");
        std::optional<ember::Event> note;
        while ((note = notifications.next(5000)) && note->kind != EMBER_EVENT_NOTIFY) {
        }
        EXPECT(note && note->users.size() == 1 && note->users[0] == ann.id);
        std::cout << "pipelined: " << done->message->content << ", notified 1\n";
    }

    engine.close();
    try {
        while (sub.next(1000)) {  // what was queued before the close, then the end
        }
        EXPECT(false);
    } catch (const ember::Error &e) {
        EXPECT(e.status() == EMBER_ERR_CLOSED);
    }
    std::cout << "cpp demo: OK\n";
    return 0;
} catch (const ember::Error &e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
}
