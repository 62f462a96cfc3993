/*
 * The shutdown orders and mistakes a C host makes, written from include/ember.h and
 * docs/c-api.md: the engine closed while a pipeline, a blocked reader, a callback
 * subscription and a plugin are alive; the same file opened twice; double close and use
 * after close. Built and run by ffi/tests/hosts_build_and_run.rs, also under
 * AddressSanitizer.
 *
 * Usage: shutdown_and_misuse DB OTHER_NAME_OF_DB
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "ember.h"

#define CHECK(cond, ...)                                                                \
    do {                                                                                \
        if (!(cond)) {                                                                  \
            fprintf(stderr, "FAILED %s:%d: ", __FILE__, __LINE__);                      \
            fprintf(stderr, __VA_ARGS__);                                               \
            fprintf(stderr, "\n");                                                      \
            exit(1);                                                                    \
        }                                                                               \
    } while (0)

#define OK(call)                                                                        \
    do {                                                                                \
        ember_status s_ = (call);                                                       \
        CHECK(s_ == EMBER_OK, "%s: %s: %s", #call, ember_status_name(s_),               \
              ember_last_error());                                                      \
    } while (0)

static atomic_int plugin_destroyed;
static atomic_int callback_ended;
static atomic_int callback_destroyed;

static void plugin_destroy(void *user_data) {
    (void)user_data;
    atomic_fetch_add(&plugin_destroyed, 1);
}

static void on_event(void *user_data, const ember_event *event) {
    (void)user_data;
    if (event->kind == EMBER_EVENT_ENDED)
        atomic_fetch_add(&callback_ended, 1);
}

static void callback_destroy(void *user_data) {
    (void)user_data;
    atomic_fetch_add(&callback_destroyed, 1);
}

static void sleep_ms(long ms) {
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

/* A reader blocked in ember_subscription_next(sub, -1, ...) until the stream ends. */
struct reader {
    ember_subscription *sub;
    ember_status end;
    int events;
};

static void *read_until_the_end(void *arg) {
    struct reader *r = arg;
    for (;;) {
        ember_event *event = NULL;
        ember_status s = ember_subscription_next(r->sub, -1, &event);
        if (s != EMBER_OK) {
            r->end = s;
            return NULL;
        }
        r->events++;
        ember_event_free(event);
    }
}

static ember_engine *open_engine(const char *path, ember_status *status) {
    ember_options options;
    OK(ember_options_init(&options));
    options.password_memory_kib = 8;
    options.password_iterations = 1;
    ember_engine *engine = NULL;
    *status = ember_engine_open(path, &options, &engine);
    return engine;
}

int main(int argc, char **argv) {
    CHECK(argc == 3, "usage: %s DB OTHER_NAME_OF_DB", argv[0]);
    alarm(60); /* a hang fails the run instead of blocking the test suite */
    ember_status status;
    ember_engine *engine = open_engine(argv[1], &status);
    OK(status);

    /* The same file again, under its name and another: refused, the first engine lives. */
    CHECK(open_engine(argv[1], &status) == NULL && status == EMBER_ERR_ALREADY_OPEN,
          "second open: %s", ember_status_name(status));
    CHECK(open_engine(argv[2], &status) == NULL && status == EMBER_ERR_ALREADY_OPEN,
          "open under another name: %s", ember_status_name(status));

    ember_user *ann = NULL;
    OK(ember_create_user(engine, "ann", "Ann", "password1", EMBER_ROLE_ADMIN, &ann));
    ember_room *room = NULL;
    OK(ember_create_room(engine, ann->id, EMBER_ROOM_OPEN, "Lobby", NULL, 0, &room));

    ember_plugin plugin = {
        .abi_version = EMBER_PLUGIN_ABI_VERSION,
        .struct_size = sizeof(ember_plugin),
        .name = "watched",
        .destroy = plugin_destroy,
    };
    OK(ember_engine_register_plugin(engine, &plugin));

    ember_subscription *pulled = NULL;
    OK(ember_subscribe_room(engine, ann->id, room->id, &pulled));
    ember_subscription *called = NULL;
    OK(ember_subscribe_user(engine, ann->id, &called));
    OK(ember_subscription_set_callback(called, on_event, NULL, callback_destroy));
    struct reader reader = {.sub = pulled};
    pthread_t thread;
    CHECK(pthread_create(&thread, NULL, read_until_the_end, &reader) == 0, "pthread_create");

    /* A pipeline alive at close, with a post in flight. */
    ember_pipeline *pipeline = NULL;
    OK(ember_pipeline_new(engine, NULL, NULL, NULL, &pipeline));
    ember_uuid cid;
    OK(ember_uuid_new(&cid));
    uint64_t ticket = 0;
    OK(ember_pipeline_post(pipeline, ann->id, room->id, cid, "in flight", &ticket));
    sleep_ms(50);

    OK(ember_engine_close(engine));
    CHECK(atomic_load(&plugin_destroyed) == 1, "plugin destroy ran %d times by close",
          atomic_load(&plugin_destroyed));
    CHECK(pthread_join(thread, NULL) == 0, "pthread_join");
    CHECK(reader.end == EMBER_ERR_CLOSED, "the blocked reader ended with %s",
          ember_status_name(reader.end));
    for (int i = 0; i < 500 && atomic_load(&callback_ended) == 0; i++)
        sleep_ms(10);
    CHECK(atomic_load(&callback_ended) == 1, "the callback got ENDED %d times",
          atomic_load(&callback_ended));

    /* The post in flight completed once; then the pipeline reports the close. */
    ember_completion *completion = NULL;
    OK(ember_pipeline_next(pipeline, 5000, &completion));
    CHECK(completion->ticket == ticket && completion->status == EMBER_OK,
          "completion %llu: %s", (unsigned long long)completion->ticket,
          ember_status_name(completion->status));
    ember_completion_free(completion);
    CHECK(ember_pipeline_next(pipeline, 0, &completion) == EMBER_ERR_CLOSED, "pipeline");

    ember_subscription_free(pulled);
    ember_subscription_free(called);
    CHECK(atomic_load(&callback_destroyed) == 1, "callback destroy");
    ember_pipeline_free(pipeline);
    ember_user_free(ann);
    ember_room_free(room);
    CHECK(atomic_load(&plugin_destroyed) == 1, "plugin destroy ran once");

    /* Use after close and double close: a status, not a crash. */
    ember_user_list *users = NULL;
    CHECK(ember_users(engine, &users) == EMBER_ERR_MISUSE && users == NULL, "use after close");
    CHECK(ember_engine_close(engine) == EMBER_ERR_MISUSE, "double close");

    /* Closed, the file may be opened again, under either name. */
    engine = open_engine(argv[2], &status);
    OK(status);
    OK(ember_engine_close(engine));

    printf("shutdown_and_misuse: OK\n");
    return 0;
}
