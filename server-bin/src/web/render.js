// Turning messages into DOM: author, avatar initial, time, day separators, grouping,
// "(edited)", tombstones, mentions, safe links, sound marks. Content is only ever text.

import { el, timeOf, dayKey, dayLabel, hueOf, escapeRe } from "./util.js";
import { S, nameOf } from "./store.js";

const GROUP_MS = 5 * 60 * 1000;
const URL_RE = "https?://[^\\s<>\"']+";

/** The content as nodes: text, links (http/https only, rel=noopener) and mentions. */
export function contentNodes(m) {
  const names = m.mentions.map((id) => ({ id, name: S.names.get(id) })).filter((x) => x.name);
  const alts = [URL_RE, ...names.map((x) => "@" + escapeRe(x.name))];
  const re = new RegExp(alts.map((a) => `(${a})`).join("|"), "giu");
  const out = [];
  let at = 0;
  for (const match of m.content.matchAll(re)) {
    const text = match[0];
    if (match.index > at) out.push(m.content.slice(at, match.index));
    if (match[1]) {
      const url = text.replace(/[.,;:!?)\]]+$/, "");
      out.push(link(url));
      if (url.length < text.length) out.push(text.slice(url.length));
    } else {
      const who = names.find((x) => x.name.toLowerCase() === text.slice(1).toLowerCase());
      const mine = who && who.id === S.me?.id;
      out.push(el("span", { className: mine ? "mention me" : "mention", textContent: text }));
    }
    at = match.index + text.length;
  }
  if (at < m.content.length) out.push(m.content.slice(at));
  return out;
}

function link(url) {
  let ok = false;
  try {
    ok = ["http:", "https:"].includes(new URL(url).protocol);
  } catch { /* not a URL */ }
  if (!ok) return url;
  return el("a", { href: url, textContent: url, target: "_blank", rel: "noopener noreferrer" });
}

function avatar(userId) {
  const name = nameOf(userId);
  const a = el("span", { className: "avatar", textContent: [...name][0]?.toUpperCase() || "?", attrs: { "aria-hidden": "true" } });
  a.style.setProperty("--hue", hueOf(userId));
  return a;
}

/** One message row. `ui` gives the state of menus/editing and the actions. */
function row(m, grouped, ui) {
  const mine = m.creator_id === S.me?.id;
  const canChange = !m.deleted && !m.pending && (mine || S.me?.role === "admin");
  const classes = ["msg"];
  if (grouped) classes.push("grouped");
  if (m.deleted) classes.push("deleted");
  if (m.pending) classes.push(m.failed ? "failed" : "pending");
  if (!m.deleted && m.mentions?.includes(S.me?.id)) classes.push("mentions-me");
  const li = el("li", { className: classes.join(" "), id: m.pending ? `p-${m.client_message_id}` : `m-${m.id}` });
  li.dataset.seq = m.seq ?? "";
  li.append(grouped ? el("span", { className: "avatar-gap" }) : avatar(m.creator_id));
  const body = el("div", { className: "body" });
  if (grouped) {
    body.append(el("span", { className: "author sr-only", textContent: nameOf(m.creator_id) }));
  } else {
    body.append(el("div", { className: "head" },
      el("span", { className: "author", textContent: nameOf(m.creator_id) }), " ",
      el("time", { textContent: timeOf(m.created_at), dateTime: new Date(m.created_at).toISOString() })));
  }
  const editing = !m.pending && ui.editing === m.id;
  if (editing) {
    body.append(ui.editor(m));
  } else if (m.deleted) {
    body.append(el("div", { className: "text", textContent: "This message was deleted." }));
  } else {
    const text = el("div", { className: "text" }, contentNodes(m));
    if (m.sound) text.append(" ", el("span", { className: "sound", textContent: `♪ ${m.sound}`, title: "sound" }));
    if (m.edited_at) text.append(" ", el("span", { className: "edited", textContent: "(edited)" }));
    body.append(text);
  }
  if (m.pending) {
    const state = el("div", { className: "state", attrs: { role: "status" } },
      m.failed ? `Not sent: ${m.error || "failed"}` : "Sending…");
    if (m.failed) {
      state.append(" ", el("button", { type: "button", className: "retry", textContent: "Retry", onclick: () => ui.retry(m.client_message_id) }),
        " ", el("button", { type: "button", className: "discard", textContent: "Discard", onclick: () => ui.discard(m.client_message_id) }));
    }
    body.append(state);
  }
  li.append(body);
  if (canChange && !editing) {
    const open = ui.menu === m.id;
    const menu = el("div", { className: "actions" },
      el("button", { type: "button", className: "more", textContent: "⋯", title: "Message actions",
        attrs: { "aria-label": "Message actions", "aria-expanded": String(open) }, onclick: () => ui.toggleMenu(m.id) }));
    if (open) {
      menu.append(el("div", { className: "menu", attrs: { role: "menu" } },
        el("button", { type: "button", textContent: "Edit", attrs: { role: "menuitem" }, onclick: () => ui.edit(m.id) }),
        el("button", { type: "button", textContent: "Delete", attrs: { role: "menuitem" }, onclick: () => ui.remove(m) })));
    }
    li.append(menu);
  }
  return li;
}

/** The whole list with day separators and grouping. */
export function renderList(list, messages, pending, ui) {
  const nodes = [];
  let prev = null;
  for (const m of [...messages, ...pending]) {
    if (!prev || dayKey(prev.created_at) !== dayKey(m.created_at)) {
      nodes.push(el("li", { className: "day", attrs: { role: "separator" } }, el("span", { textContent: dayLabel(m.created_at) })));
      prev = null;
    }
    const grouped = prev && prev.creator_id === m.creator_id && !prev.deleted &&
      m.created_at - prev.created_at < GROUP_MS;
    nodes.push(row(m, grouped, ui));
    prev = m;
  }
  list.replaceChildren(...nodes);
}
