/*
 * plugin_shout.c: a libember plugin written in C, registered through the plugin ABI.
 *
 * `/shout text` posts the text in upper case. An `on_post` hook refuses posts that
 * contain "spam"; an `on_event` hook counts committed messages. The program checks that
 * libember rejects a plugin struct with the wrong abi_version or struct_size.
 *
 * Build: cc -I include examples/c/plugin_shout.c -L target/debug -lember -o plugin_shout
 * Run:   LD_LIBRARY_PATH=target/debug ./plugin_shout /tmp/shout.db
 *
 * The same file is also a loadable plugin: built with -DEMBER_PLUGIN_LIBRARY it has no
 * main() and exports ember_plugin_entry, the entry point ember-server --plugin looks for.
 * It does not link libember: the host provides the ember_* functions.
 *
 * Build: cc -shared -fPIC -DEMBER_PLUGIN_LIBRARY -I include examples/c/plugin_shout.c \
 *            -o libshout.so
 * Run:   ember-server serve --plugin ./libshout.so
 */
#include <ctype.h>
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

/* The plugin's state: hooks run on several threads, so counters are atomic. */
struct shout {
    atomic_int shouted;
    atomic_int messages_seen;
    int *destroyed; /* set by destroy, read by main after the engine closed */
};

static int32_t shout_command(void *user_data, const char *command, const char *args,
                             const ember_post_context *ctx, ember_draft *draft) {
    struct shout *self = user_data;
    (void)command;
    (void)ctx;
    if (args[0] == '\0') {
        ember_draft_set_reason(draft, "usage: /shout text");
        return EMBER_COMMAND_FAILED;
    }
    size_t n = strlen(args);
    char *loud = malloc(n + 1);
    if (loud == NULL) return EMBER_COMMAND_CONTINUE;
    for (size_t i = 0; i <= n; i++) loud[i] = (char)toupper((unsigned char)args[i]);
    ember_status s = ember_draft_set_content(draft, loud);
    free(loud);
    if (s != EMBER_OK) return EMBER_COMMAND_CONTINUE;
    atomic_fetch_add(&self->shouted, 1);
    return EMBER_COMMAND_HANDLED;
}

static int32_t shout_on_post(void *user_data, const ember_post_context *ctx, ember_draft *draft) {
    const char *content;
    (void)user_data;
    (void)ctx;
    if (ember_draft_content(draft, &content) == EMBER_OK && strstr(content, "spam") != NULL) {
        ember_draft_set_reason(draft, "no spam here");
        return EMBER_REJECT;
    }
    return EMBER_ACCEPT;
}

static void shout_on_event(void *user_data, const ember_event *event) {
    struct shout *self = user_data;
    if (event->kind == EMBER_EVENT_MESSAGE_CREATED) atomic_fetch_add(&self->messages_seen, 1);
}

static void shout_destroy(void *user_data) {
    struct shout *self = user_data;
    *self->destroyed = 1;
    free(self);
}

static const ember_plugin_command SHOUT_COMMANDS[] = {
    {.name = "shout", .priority = 0, .handler = shout_command},
};

/* The plugin's description; libember copies it at registration. */
static ember_plugin shout_plugin(struct shout *state) {
    ember_plugin plugin = {
        .abi_version = EMBER_PLUGIN_ABI_VERSION,
        .struct_size = sizeof(ember_plugin),
        .name = "shout",
        .user_data = state,
        .destroy = shout_destroy,
        .on_post = shout_on_post,
        .on_event = shout_on_event,
        .commands = SHOUT_COMMANDS,
        .commands_len = sizeof SHOUT_COMMANDS / sizeof SHOUT_COMMANDS[0],
    };
    return plugin;
}

#ifdef EMBER_PLUGIN_LIBRARY

static int library_destroyed;
static ember_plugin library_plugin;

/* Called once by the host that loads this library (see ember_plugin_entry_fn). */
const ember_plugin *ember_plugin_entry(void) {
    struct shout *state = calloc(1, sizeof *state);
    if (state == NULL) return NULL;
    state->destroyed = &library_destroyed;
    library_plugin = shout_plugin(state);
    return &library_plugin;
}

#else

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : "shout.db";
    ember_options options;
    CHECK(ember_options_init(&options));
    options.password_memory_kib = 8;
    options.password_iterations = 1;
    ember_engine *engine;
    CHECK(ember_engine_open(path, &options, &engine));

    int destroyed = 0;
    struct shout *state = calloc(1, sizeof *state);
    EXPECT(state != NULL);
    state->destroyed = &destroyed;
    ember_plugin plugin = shout_plugin(state);

    /* Mismatched versions and sizes are refused before anything else is read. */
    ember_plugin wrong = plugin;
    wrong.abi_version = EMBER_PLUGIN_ABI_VERSION + 1;
    EXPECT(ember_engine_register_plugin(engine, &wrong) == EMBER_ERR_ABI_MISMATCH);
    printf("refused: %s\n", ember_last_error());
    wrong = plugin;
    wrong.struct_size = 8;
    EXPECT(ember_engine_register_plugin(engine, &wrong) == EMBER_ERR_ABI_MISMATCH);
    printf("refused: %s\n", ember_last_error());
    EXPECT(destroyed == 0);

    CHECK(ember_engine_register_plugin(engine, &plugin));

    ember_user *ann;
    CHECK(ember_create_user(engine, "ann", "Ann", "correct horse", EMBER_ROLE_ADMIN, &ann));
    ember_room *room;
    CHECK(ember_create_room(engine, ann->id, EMBER_ROOM_OPEN, "Lobby", NULL, 0, &room));

    ember_uuid cid;
    ember_message *m;
    bool duplicate;
    CHECK(ember_uuid_new(&cid));
    CHECK(ember_post(engine, ann->id, room->id, cid, "/shout hello there", &m, &duplicate));
    printf("posted: %s\n", m->content);
    EXPECT(strcmp(m->content, "HELLO THERE") == 0);
    ember_message_free(m);

    CHECK(ember_uuid_new(&cid));
    EXPECT(ember_post(engine, ann->id, room->id, cid, "/shout", &m, &duplicate) ==
           EMBER_ERR_REJECTED);
    printf("rejected: %s\n", ember_last_error());
    CHECK(ember_uuid_new(&cid));
    EXPECT(ember_post(engine, ann->id, room->id, cid, "buy spam now", &m, &duplicate) ==
           EMBER_ERR_REJECTED);
    printf("rejected: %s\n", ember_last_error());

    CHECK(ember_uuid_new(&cid));
    CHECK(ember_post(engine, ann->id, room->id, cid, "a quiet word", &m, &duplicate));
    EXPECT(strcmp(m->content, "a quiet word") == 0);
    ember_message_free(m);

    for (int i = 0; i < 500 && atomic_load(&state->messages_seen) < 2; i++) {
        struct timespec ten_ms = {0, 10 * 1000 * 1000};
        nanosleep(&ten_ms, NULL);
    }
    EXPECT(atomic_load(&state->messages_seen) == 2);
    EXPECT(atomic_load(&state->shouted) == 1);

    ember_room_free(room);
    ember_user_free(ann);
    CHECK(ember_engine_close(engine));
    EXPECT(destroyed == 1); /* the engine called destroy when it closed */
    printf("plugin_shout: OK\n");
    return 0;
}

#endif /* EMBER_PLUGIN_LIBRARY */
