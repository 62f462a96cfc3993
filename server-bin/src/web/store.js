// The client's state: rooms, the messages known per room with the resume cursor, names,
// and the outbox of messages not yet acknowledged (kept in sessionStorage, so a reload
// loses nothing).

export const S = {
  token: sessionStorage.getItem("ember.token"),
  me: null,
  epoch: null,
  rooms: new Map(),
  current: null,
  caches: new Map(),
  names: new Map(),
  online: new Set(),
  members: [],
  typing: new Map(),
  outbox: loadOutbox(),
};

function loadOutbox() {
  try {
    return JSON.parse(sessionStorage.getItem("ember.outbox") || "[]");
  } catch {
    return [];
  }
}

export function saveOutbox() {
  sessionStorage.setItem("ember.outbox", JSON.stringify(S.outbox));
}

export function setToken(token) {
  S.token = token;
  if (token) sessionStorage.setItem("ember.token", token);
  else sessionStorage.removeItem("ember.token");
}

/** What is known of one room's messages. `cursor` is the last change_seq received from a
 *  subscription (the `since` to resume with); `more` says older pages remain. */
export function cache(roomId) {
  let c = S.caches.get(roomId);
  if (!c) {
    c = { msgs: new Map(), cursor: null, more: true, loaded: false, readSent: 0 };
    S.caches.set(roomId, c);
  }
  return c;
}

/** Stores a message unless a newer state of it is known. True when something changed. */
export function upsert(m) {
  const c = cache(m.room_id);
  const old = c.msgs.get(m.id);
  if (old && old.change_seq >= m.change_seq) return false;
  c.msgs.set(m.id, m);
  return true;
}

export function sorted(roomId) {
  return [...cache(roomId).msgs.values()].sort((a, b) => a.seq - b.seq);
}

export function nameOf(userId) {
  return S.names.get(userId) || "Someone";
}

export function roomTitle(room) {
  if (!room) return "";
  if (room.kind !== "direct") return room.name;
  const mine = S.me?.name;
  const others = room.name.split(", ").filter((n) => n !== mine);
  return others.join(", ") || room.name;
}

export function unreadTotal() {
  let n = 0;
  for (const r of S.rooms.values()) n += r.unread || 0;
  return n;
}
