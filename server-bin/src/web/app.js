// Ember's web client: login, rooms, live messages, history, search, presence, typing.
// Protocol: docs/protocol.md. Every piece of user content is inserted as text.

import { $, el, inWords, playSound } from "./util.js";
import { S, setToken, cache, upsert, sorted, nameOf, roomTitle, unreadTotal } from "./store.js";
import { Conn, api } from "./conn.js";
import { renderList } from "./render.js";
import { setupComposer, words, MAX_CHARS } from "./composer.js";

const PAGE = 50;
const TYPING_LAPSE_MS = 30000;
let conn = null;
const ui = { editing: null, menu: null, editDraft: "", editError: "" };

const composer = setupComposer({
  conn: () => conn,
  changed: (roomId) => { if (roomId === S.current) renderMessages(); },
  editLast,
});

// ---- login and logout ----

function showLogin(message = "") {
  document.body.classList.remove("signed-in", "drawer-open");
  $("app").hidden = true;
  $("login").hidden = false;
  $("login-error").textContent = message;
  $("login-error").hidden = !message;
  document.title = "Ember — log in";
  $("login-name").focus();
}

$("login").addEventListener("submit", async (e) => {
  e.preventDefault();
  const button = $("login-button");
  button.disabled = true;
  let message = "";
  try {
    const r = await api("POST", "/api/login", null, { login: $("login-name").value, password: $("login-password").value });
    if (r.status === 200 && r.body?.token) {
      $("login-password").value = "";
      setToken(r.body.token);
      start();
    } else if (r.status === 429) {
      message = `Too many attempts — try again in ${inWords(r.body?.error?.retry_after_ms ?? 60000)}.`;
    } else if (r.status === 401 || r.status === 403 || r.status === 404) {
      message = "Wrong login or password.";
    } else {
      message = r.body?.error?.message || `The server answered ${r.status}.`;
    }
  } catch {
    message = "Cannot reach the server. Check that it is running, then try again.";
  }
  button.disabled = false;
  if (message) showLogin(message);
});

$("logout").addEventListener("click", async () => {
  const token = S.token;
  stop();
  try { await api("DELETE", "/api/session", token); } catch { /* gone anyway */ }
  showLogin("You are logged out.");
});

/** Drops the session and everything known with it. */
function stop() {
  conn?.stop();
  conn = null;
  setToken(null);
  S.caches.clear();
  S.rooms.clear();
  S.current = null;
  S.outbox = [];
  sessionStorage.removeItem("ember.outbox");
  composer.reset();
}

function start() {
  $("login").hidden = true;
  $("app").hidden = false;
  document.body.classList.add("signed-in");
  status("Connecting…");
  conn = new Conn(S.token, {
    ready: onReady,
    frame: onFrame,
    down: ({ retryIn }) => status(retryIn ? `Offline — reconnecting in ${inWords(retryIn)}.` : "Connection lost — reconnecting…", true),
    refused: () => {
      stop();
      showLogin("Your session has ended (signed out, expired, or the server's database changed). Please log in again.");
    },
  });
  conn.connect();
}

function status(text, offline = false) {
  $("status-text").textContent = text;
  $("status").hidden = !text;
  $("reconnect").hidden = !offline;
  document.body.classList.toggle("offline", offline);
}
$("reconnect").addEventListener("click", () => conn?.now());

// ---- connection and frames ----

function onReady(f) {
  if (S.epoch && S.epoch !== f.epoch) S.caches.clear();
  S.epoch = f.epoch;
  S.me = f.user;
  S.names.set(f.user.id, f.user.name);
  $("me").textContent = f.user.name;
  S.rooms = new Map(f.rooms.map((r) => [r.id, { ...r }]));
  status("");
  const wanted = S.current || sessionStorage.getItem("ember.room");
  const first = S.rooms.has(wanted) ? wanted : f.rooms[0]?.id;
  S.current = null;
  renderRooms();
  if (first) openRoom(first);
  else renderMessages();
  composer.resend();
}

function onFrame(f) {
  switch (f.type) {
    case "message": return onMessage(f.message);
    case "typing": return onTyping(f);
    case "presence":
      if (f.room_id !== S.current) return;
      if (f.online) S.online.add(f.user_id); else S.online.delete(f.user_id);
      return renderPeople();
    case "sound":
      if (f.room_id === S.current && f.user_id !== S.me.id) playSound(f.name);
      return;
    case "membership":
      if (f.room_id === S.current) loadMembers(f.room_id);
      return;
    case "unread": {
      const r = S.rooms.get(f.room_id);
      if (r) r.unread = f.unread;
      if (f.room_id === S.current && f.unread) markRead();
      return renderRooms();
    }
    case "room_joined":
      S.rooms.set(f.room_id, { id: f.room_id, name: f.name, kind: f.kind, unread: f.unread, head_seq: f.head_seq });
      return renderRooms();
    case "room_left":
      S.rooms.delete(f.room_id);
      S.caches.delete(f.room_id);
      if (f.room_id === S.current) {
        S.current = null;
        const next = S.rooms.keys().next().value;
        if (next) openRoom(next); else renderMessages();
      }
      return renderRooms();
    case "unsubscribed":
      if (f.reason === "ended" && f.room_id === S.current) status("You are no longer in this room.");
      return;
    case "error":
      return flash(words(f));
  }
}

function onMessage(m) {
  if (m.creator_id === S.me.id) composer.arrived(m);
  const c = cache(m.room_id);
  c.cursor = Math.max(c.cursor ?? 0, m.change_seq);
  const changed = upsert(m);
  if (m.room_id !== S.current) return;
  if (changed) renderMessages();
  markRead();
}

/** Subscribes to a room, resuming from its cursor; handles `reset` and capped replays. */
async function subscribe(roomId) {
  const c = cache(roomId);
  for (let rounds = 0; rounds < 50; rounds++) {
    const since = c.cursor;
    const reply = await conn.request({ type: "subscribe", room_id: roomId, since, epoch: S.epoch });
    if (reply.reset) {
      c.msgs.clear();
      c.more = true;
      c.loaded = false;
      c.cursor = reply.head_seq;
    } else if (reply.complete) {
      // Everything up to head_seq was replayed (or nothing was asked for). A capped
      // replay leaves the cursor at the last change received.
      c.cursor = Math.max(c.cursor ?? 0, reply.head_seq);
    }
    if (S.current !== roomId) {
      conn.send({ type: "unsubscribe", room_id: roomId });
      return;
    }
    S.online = new Set(reply.online);
    if (reply.complete) return;
  }
}

async function openRoom(roomId) {
  if (!conn) return;
  const previous = S.current;
  if (previous && previous !== roomId) conn.send({ type: "unsubscribe", room_id: previous });
  S.current = roomId;
  sessionStorage.setItem("ember.room", roomId);
  S.typing.forEach((t) => clearTimeout(t));
  S.typing.clear();
  S.online.clear();
  ui.editing = ui.menu = null;
  document.body.classList.remove("drawer-open");
  $("search-results").hidden = true;
  renderRooms();
  renderMessages("bottom");
  renderTypingLine();
  try {
    const c = cache(roomId);
    const members = loadMembers(roomId);
    await subscribe(roomId);
    if (S.current !== roomId) return;
    if (!c.loaded) await loadHistory(roomId);
    await members;
    renderMessages(c.loaded ? undefined : "bottom");
    renderPeople();
    markRead();
  } catch (err) {
    if (err?.code !== "disconnected") flash(words(err));
  }
}

async function loadMembers(roomId) {
  try {
    const r = await api("GET", `/api/rooms/${roomId}/members`, S.token);
    if (r.status !== 200) return;
    for (const u of r.body) S.names.set(u.id, u.name);
    if (roomId === S.current) {
      S.members = r.body;
      renderPeople();
      renderMessages();
    }
  } catch { /* shown when the connection is back */ }
}

/** Loads the page of messages older than what is known (or the newest page). */
async function loadHistory(roomId) {
  const c = cache(roomId);
  if (c.loading) return c.loading;
  const known = sorted(roomId).filter((m) => m.seq);
  const before = c.loaded && known.length ? known[0].seq : null;
  c.loading = conn.request({ type: "history", room_id: roomId, before, limit: PAGE }).then((reply) => {
    for (const m of reply.messages) upsert(m);
    if (reply.messages.length < PAGE || reply.messages[0]?.seq === 1) c.more = false;
    const wasLoaded = c.loaded;
    c.loaded = true;
    if (roomId === S.current) renderMessages(wasLoaded ? "keep" : "bottom");
  }).finally(() => { c.loading = null; });
  return c.loading;
}

/** Tells the server what was seen: the newest message of the open room, when in view. */
function markRead() {
  const r = S.rooms.get(S.current);
  if (!r || document.visibilityState !== "visible" || !conn?.open) return;
  const c = cache(S.current);
  const last = sorted(S.current).at(-1);
  if (!last || !nearBottom()) return;
  if (last.seq <= c.readSent) return;
  c.readSent = Math.max(c.readSent, last.seq);
  r.unread = 0;
  renderRooms();
  conn.request({ type: "read", room_id: S.current, seq: last.seq })
    .then((ack) => { r.unread = ack.unread; renderRooms(); })
    .catch(() => { c.readSent = 0; });
}
document.addEventListener("visibilitychange", markRead);

// ---- typing ----

function onTyping(f) {
  if (f.room_id !== S.current || f.user_id === S.me.id) return;
  clearTyping(f.user_id);
  if (f.active) S.typing.set(f.user_id, setTimeout(() => clearTyping(f.user_id), TYPING_LAPSE_MS));
  renderTypingLine();
}

function clearTyping(userId) {
  if (!S.typing.has(userId)) return;
  clearTimeout(S.typing.get(userId));
  S.typing.delete(userId);
  renderTypingLine();
}

function renderTypingLine() {
  const names = [...S.typing.keys()].map(nameOf);
  let text = "";
  if (names.length === 1) text = `${names[0]} is typing…`;
  else if (names.length === 2) text = `${names[0]} and ${names[1]} are typing…`;
  else if (names.length > 2) text = `${names[0]}, ${names[1]} and ${names.length - 2} more are typing…`;
  $("typing").textContent = text;
}

// ---- rendering ----

function renderRooms() {
  const items = [...S.rooms.values()].map((r) => {
    const current = r.id === S.current;
    const badge = r.unread && !current ? el("span", { className: "badge", textContent: String(r.unread), title: `${r.unread} unread` }) : null;
    const mark = { open: "#", closed: "◆", direct: "@" }[r.kind] || "#";
    return el("li", {},
      el("button", {
        type: "button", className: current ? "room current" : "room", onclick: () => openRoom(r.id),
        attrs: { "aria-current": current ? "page" : "false", "data-room": r.id },
      }, el("span", { className: "kind", textContent: mark, attrs: { "aria-label": `${r.kind} room` } }),
      el("span", { className: "name", textContent: roomTitle(r) }), badge));
  });
  $("rooms").replaceChildren(...items);
  const room = S.rooms.get(S.current);
  $("room-title").textContent = room ? roomTitle(room) : "";
  $("text").placeholder = room ? `Message ${room.kind === "direct" ? "" : "#"}${roomTitle(room)}` : "Message";
  const total = unreadTotal();
  document.title = `${total ? `(${total}) ` : ""}${room ? roomTitle(room) + " · " : ""}Ember`;
  $("menu-badge").textContent = total ? String(total) : "";
  $("menu-badge").hidden = !total;
}

function renderPeople() {
  const people = [...S.members].sort((a, b) =>
    (S.online.has(b.id) - S.online.has(a.id)) || a.name.localeCompare(b.name));
  $("people").replaceChildren(...people.map((u) => {
    const online = S.online.has(u.id) || u.id === S.me?.id;
    return el("li", { className: online ? "online" : "" },
      el("span", { className: "dot", attrs: { "aria-label": online ? "online" : "offline" } }),
      el("span", { className: "name", textContent: u.name }),
      u.id === S.me?.id || u.role === "bot" ? null : el("button", {
        type: "button", className: "dm", textContent: "Message",
        attrs: { "aria-label": `Direct message ${u.name}` }, onclick: () => openDirect(u.id),
      }));
  }));
  const n = people.filter((u) => S.online.has(u.id) || u.id === S.me?.id).length;
  $("online-count").textContent = `${n} online`;
}

async function openDirect(userId) {
  try {
    const r = await api("POST", "/api/direct", S.token, { user_id: userId });
    if (r.status !== 200) return flash(r.body?.error?.message || "Cannot open the conversation.");
    const b = r.body;
    if (!S.rooms.has(b.room_id)) S.rooms.set(b.room_id, { id: b.room_id, name: b.name, kind: b.kind, unread: 0, head_seq: b.head_seq });
    openRoom(b.room_id);
  } catch {
    flash("Cannot reach the server.");
  }
}

const scroller = () => $("scroller");
function nearBottom() {
  const s = scroller();
  return s.scrollHeight - s.scrollTop - s.clientHeight < 80;
}

/** Re-renders the open room. `mode`: "bottom" scrolls to the end, "keep" keeps the
 *  reader's place while older messages are added above; by default the view follows new
 *  messages only when it was at the end. */
function renderMessages(mode) {
  const s = scroller();
  const atEnd = nearBottom();
  const oldHeight = s.scrollHeight;
  const oldTop = s.scrollTop;
  const list = $("messages");
  if (!S.current) {
    list.replaceChildren(el("li", { className: "empty", textContent: "No rooms yet." }));
    return;
  }
  const c = cache(S.current);
  renderList(list, sorted(S.current), composer.pendingFor(S.current), {
    ...ui, retry: composer.retry, discard: composer.discard, toggleMenu, edit: startEdit, remove, editor,
  });
  $("older").hidden = !(c.loaded && c.more);
  if (mode === "keep") s.scrollTop = oldTop + (s.scrollHeight - oldHeight);
  else if (mode === "bottom" || atEnd) s.scrollTop = s.scrollHeight;
}

scroller().addEventListener("scroll", () => {
  const c = S.current && cache(S.current);
  if (c && c.loaded && c.more && scroller().scrollTop < 200) loadHistory(S.current);
  if (nearBottom()) markRead();
});
$("older").addEventListener("click", () => S.current && loadHistory(S.current));

let flashTimer;
function flash(text) {
  $("notice").textContent = text;
  $("notice").hidden = false;
  clearTimeout(flashTimer);
  flashTimer = setTimeout(() => { $("notice").hidden = true; }, 6000);
}

// ---- edit and delete ----

function toggleMenu(id) {
  ui.menu = ui.menu === id ? null : id;
  renderMessages();
  if (ui.menu) document.querySelector(`#m-${CSS.escape(id)} .menu button`)?.focus();
}

function startEdit(id) {
  const m = cache(S.current).msgs.get(id);
  if (!m) return;
  ui.menu = null;
  ui.editing = id;
  ui.editDraft = m.content;
  ui.editError = "";
  renderMessages();
  const box = document.querySelector(`#m-${CSS.escape(id)} textarea`);
  box?.focus();
  box?.setSelectionRange(box.value.length, box.value.length);
}

function editLast() {
  const mine = sorted(S.current || "").filter((m) => m.creator_id === S.me?.id && !m.deleted);
  if (mine.length) startEdit(mine.at(-1).id);
}

function editor(m) {
  const box = el("textarea", { value: ui.editDraft, rows: 2, attrs: { "aria-label": "Edit message" } });
  box.addEventListener("input", () => { ui.editDraft = box.value; });
  const cancel = () => { ui.editing = null; renderMessages(); composer.focus(); };
  const save = async () => {
    const content = box.value.trim();
    if (!content) return remove(m);
    if ([...content].length > MAX_CHARS) { ui.editError = `At most ${MAX_CHARS.toLocaleString()} characters.`; return renderMessages(); }
    try {
      const ack = await conn.request({ type: "edit", message_id: m.id, content });
      upsert(ack.message);
      ui.editing = null;
      composer.focus();
    } catch (err) {
      ui.editError = `Not saved: ${words(err)}`;
    }
    renderMessages();
  };
  box.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); save(); }
    if (e.key === "Escape") { e.preventDefault(); cancel(); }
  });
  return el("div", { className: "editor" }, box,
    el("div", {},
      el("button", { type: "button", textContent: "Save", onclick: save }), " ",
      el("button", { type: "button", textContent: "Cancel", onclick: cancel }),
      ui.editError ? el("span", { className: "error", textContent: " " + ui.editError, attrs: { role: "alert" } }) : null));
}

async function remove(m) {
  ui.menu = null;
  if (!confirm("Delete this message for everyone?")) return renderMessages();
  try {
    const ack = await conn.request({ type: "delete", message_id: m.id });
    upsert(ack.message);
    ui.editing = null;
  } catch (err) {
    flash(`Not deleted: ${words(err)}`);
  }
  renderMessages();
}

// ---- search ----

$("search").addEventListener("submit", async (e) => {
  e.preventDefault();
  const query = $("search-input").value.trim();
  const box = $("search-results");
  if (!query || !conn?.open) return;
  try {
    const reply = await conn.request({ type: "search", query, limit: 20 });
    await Promise.all([...new Set(reply.messages.map((m) => m.room_id))]
      .filter((id) => id !== S.current).map((id) => loadMembersQuietly(id)));
    const items = reply.messages.map((m) => el("li", {}, el("button", { type: "button", onclick: () => jumpTo(m) },
      el("span", { className: "where", textContent: `${roomTitle(S.rooms.get(m.room_id)) || "?"} · ${nameOf(m.creator_id)} · ${new Date(m.created_at).toLocaleString()}` }),
      el("span", { className: "snippet", textContent: m.content }))));
    box.replaceChildren(
      el("div", { className: "results-head" }, el("strong", { textContent: items.length ? `Results for “${query}”` : `Nothing found for “${query}”` }),
        el("button", { type: "button", textContent: "Close", onclick: () => { box.hidden = true; } })),
      el("ol", {}, items));
    box.hidden = false;
  } catch (err) {
    flash(`Search failed: ${words(err)}`);
  }
});

async function loadMembersQuietly(roomId) {
  try {
    const r = await api("GET", `/api/rooms/${roomId}/members`, S.token);
    if (r.status === 200) for (const u of r.body) S.names.set(u.id, u.name);
  } catch { /* names fall back to "Someone" */ }
}

/** Opens a message's room with the message in view: older pages are loaded down to it
 *  (so the history stays contiguous), or its neighbours when it is very far back. */
async function jumpTo(m) {
  $("search-results").hidden = true;
  if (S.current !== m.room_id) await openRoom(m.room_id);
  const c = cache(m.room_id);
  for (let pages = 0; pages < 20 && c.more && !c.msgs.has(m.id); pages++) await loadHistory(m.room_id);
  if (!c.msgs.has(m.id)) {
    const r = await api("GET", `/api/messages/${m.id}/around?n=25`, S.token);
    if (r.status === 200) r.body.forEach(upsert);
    renderMessages();
  }
  const node = document.getElementById(`m-${m.id}`);
  if (!node) return;
  node.scrollIntoView({ block: "center" });
  node.classList.add("flash");
  setTimeout(() => node.classList.remove("flash"), 2500);
}

// ---- layout ----

$("menu").addEventListener("click", () => {
  const open = document.body.classList.toggle("drawer-open");
  $("menu").setAttribute("aria-expanded", String(open));
  if (open) document.querySelector("#rooms .room.current, #rooms .room")?.focus();
});
$("scrim").addEventListener("click", () => document.body.classList.remove("drawer-open"));
document.addEventListener("keydown", (e) => {
  if (e.key !== "Escape") return;
  if (document.body.classList.contains("drawer-open")) $("menu").focus();
  document.body.classList.remove("drawer-open");
  $("search-results").hidden = true;
  if (ui.menu) { ui.menu = null; renderMessages(); }
});

if (S.token) start();
else showLogin();
