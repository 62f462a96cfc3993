// The composer and the outbox: Enter sends, Shift+Enter breaks the line; every message has
// a UUIDv7 client_message_id and stays in the outbox (pending, then failed with Retry)
// until the server acknowledges it; a retry reuses the id, so it can never double.

import { $, uuidv7, charCount } from "./util.js";
import { S, saveOutbox, upsert, cache } from "./store.js";

export const MAX_CHARS = 10000;
const COUNTER_FROM = 9000;
const TYPING_EVERY_MS = 1000;

/** Words for a protocol error. */
export function words(err) {
  switch (err?.code) {
    case "disconnected":
    case "timeout":
      return "connection lost, it will be sent again when the connection is back";
    case "rate_limited":
      return `too many messages, wait ${Math.ceil((err.retry_after_ms || 1000) / 1000)} s and retry`;
    case "validation":
      return err.message;
    case "forbidden":
      return "you cannot post in this room";
    case "not_found":
      return "this room no longer exists";
    default:
      return err?.message || "unknown error";
  }
}

export function setupComposer(app) {
  const box = $("text");
  const counter = $("counter");
  const error = $("composer-error");
  let typingSentAt = 0;

  function typing(active) {
    if (!S.current) return;
    if (active) {
      if (Date.now() - typingSentAt < TYPING_EVERY_MS) return;
      typingSentAt = Date.now();
    } else {
      if (!typingSentAt) return;
      typingSentAt = 0;
    }
    app.conn()?.send({ type: "typing", room_id: S.current, active });
  }

  function update() {
    const n = charCount(box.value.trim());
    counter.hidden = n < COUNTER_FROM;
    counter.textContent = `${n.toLocaleString()} / ${MAX_CHARS.toLocaleString()}`;
    counter.classList.toggle("over", n > MAX_CHARS);
    if (n <= MAX_CHARS && error.dataset.kind === "length") showError("");
  }

  function showError(text, kind = "") {
    error.textContent = text;
    error.hidden = !text;
    error.dataset.kind = kind;
  }

  function submit() {
    const content = box.value.trim();
    if (!content || !S.current) return;
    const n = charCount(content);
    if (n > MAX_CHARS) {
      showError(`This message has ${n.toLocaleString()} characters; the limit is ${MAX_CHARS.toLocaleString()}. Shorten it, then send.`, "length");
      return;
    }
    showError("");
    const entry = {
      client_message_id: uuidv7(), room_id: S.current, content,
      created_at: Date.now(), failed: false, auto: false, error: "",
    };
    S.outbox.push(entry);
    box.value = "";
    update();
    typing(false);
    send(entry);
  }

  /** Sends (or sends again, with the same id) an outbox entry. */
  function send(entry) {
    entry.failed = false;
    entry.error = "";
    saveOutbox();
    app.changed(entry.room_id);
    const conn = app.conn();
    if (!conn?.open) {
      fail(entry, { code: "offline" }, "you are offline; retry when the connection is back");
      return;
    }
    conn.request({ type: "post", room_id: entry.room_id, client_message_id: entry.client_message_id, content: entry.content })
      .then((ack) => {
        drop(entry.client_message_id);
        if (upsert(ack.message)) app.changed(entry.room_id);
      })
      .catch((err) => fail(entry, err, words(err)));
  }

  function fail(entry, err, text) {
    if (!S.outbox.includes(entry)) return;
    entry.failed = true;
    entry.auto = err.code === "disconnected" || err.code === "timeout";
    entry.error = text;
    saveOutbox();
    app.changed(entry.room_id);
  }

  /** Removes an entry (acknowledged, or the message arrived with its id). */
  function drop(clientId) {
    const before = S.outbox.length;
    S.outbox = S.outbox.filter((e) => e.client_message_id !== clientId);
    if (S.outbox.length !== before) saveOutbox();
  }

  box.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      submit();
    } else if (e.key === "ArrowUp" && !box.value) {
      e.preventDefault();
      app.editLast();
    }
  });
  box.addEventListener("input", () => {
    update();
    typing(box.value.trim() !== "");
  });
  $("composer").addEventListener("submit", (e) => {
    e.preventDefault();
    submit();
  });

  return {
    retry(clientId) {
      const entry = S.outbox.find((e) => e.client_message_id === clientId);
      if (entry) send(entry);
    },
    discard(clientId) {
      const entry = S.outbox.find((e) => e.client_message_id === clientId);
      drop(clientId);
      if (entry) app.changed(entry.room_id);
    },
    /** After a reconnect: sends again what was in flight when the connection went. */
    resend() {
      for (const e of S.outbox.filter((x) => x.auto || !x.failed)) send(e);
    },
    /** A message arrived: its outbox entry, if any, is done. */
    arrived(m) {
      drop(m.client_message_id);
    },
    pendingFor(roomId) {
      return S.outbox.filter((e) => e.room_id === roomId).map((e) => ({
        ...e, pending: true, id: null, creator_id: S.me?.id, mentions: [], seq: null,
      }));
    },
    focus() {
      box.focus();
    },
    reset() {
      box.value = "";
      showError("");
      update();
    },
    cache,
  };
}
