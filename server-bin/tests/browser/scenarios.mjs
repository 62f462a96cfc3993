// The web client in the system Chromium, as two people (ann, bob), against a real
// ember-server. Run by server-bin/tests/web_client_works_in_a_browser.rs, which starts the
// server and restarts it when this script prints `@@control <stop|start|fresh>` (and
// answers `ok` on stdin). Exit status 0 only when every scenario passed; on failure the
// pages' screenshots and console logs are saved in $EMBER_ARTIFACTS.

import { chromium } from "playwright-core";
import { createInterface } from "node:readline";
import fs from "node:fs";
import path from "node:path";

const BASE = process.env.EMBER_URL;
const ART = process.env.EMBER_ARTIFACTS || ".";
const LOBBY = process.env.EMBER_LOBBY;
const OPS = process.env.EMBER_OPS;
const T = 10000;

// ---- talking to the Rust harness ----
const lines = [];
let waiter = null;
createInterface({ input: process.stdin }).on("line", (l) => {
  if (waiter) { const w = waiter; waiter = null; w(l); } else lines.push(l);
});
async function control(command) {
  console.log(`@@control ${command}`);
  const answer = lines.length ? lines.shift() : await new Promise((r) => { waiter = r; });
  if (answer !== "ok") throw new Error(`harness answered ${answer} to ${command}`);
}

// ---- helpers ----
const logs = [];
const pageErrors = [];
const pages = {};
function watch(page, who) {
  pages[who] = page;
  page.setDefaultTimeout(T);
  page.on("console", (m) => logs.push(`[${who}] ${m.type()}: ${m.text()}`));
  page.on("pageerror", (e) => { logs.push(`[${who}] pageerror: ${e.message}`); pageErrors.push(`${who}: ${e.message}`); });
  page.on("dialog", (d) => d.accept());
  page.on("websocket", (ws) => {
    ws.on("framereceived", (f) => logs.push(`[${who}] ws< ${String(f.payload).slice(0, 200)}`));
    ws.on("framesent", (f) => logs.push(`[${who}] ws> ${String(f.payload).slice(0, 200)}`));
  });
}
function check(cond, what) {
  if (!cond) throw new Error(what);
}
async function step(name, fn) {
  const t = Date.now();
  try {
    await fn();
    console.log(`ok - ${name} (${Date.now() - t} ms)`);
  } catch (e) {
    console.log(`not ok - ${name}: ${e.message.split("\n")[0]}`);
    throw e;
  }
}
async function http(method, url, token, body, type = "application/json") {
  const headers = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = type;
  const r = await fetch(BASE + url, { method, headers, body: type === "application/json" && body !== undefined ? JSON.stringify(body) : body });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : null, headers: r.headers };
}
async function apiToken(login) {
  const r = await http("POST", "/api/login", null, { login, password: `${login}-password` });
  check(r.status === 200, `login ${login} over HTTP: ${r.status}`);
  return r.body.token;
}
async function history(token, room) {
  const r = await http("GET", `/api/rooms/${room}/messages?limit=100`, token);
  check(r.status === 200, `history: ${r.status}`);
  return r.body;
}
async function login(page, who) {
  await page.goto(BASE + "/");
  await page.fill("#login-name", who);
  await page.fill("#login-password", `${who}-password`);
  await page.click("#login-button");
  await page.locator("#rooms .room.current").waitFor({ state: "attached", timeout: T });
}
const msg = (page, text) => page.locator("#messages li.msg", { has: page.locator(".text", { hasText: text }) });
async function openRoom(page, name) {
  if (await page.locator("#menu").isVisible()) await page.click("#menu");
  await page.locator("#rooms .room", { hasText: name }).click();
  await page.locator("#room-title", { hasText: name }).waitFor({ timeout: T });
}
async function send(page, text) {
  await page.fill("#text", text);
  await page.press("#text", "Enter");
}
async function waitFor(page, fn, arg, what, timeout = T) {
  try {
    await page.waitForFunction(fn, arg, { timeout, polling: 50 });
  } catch {
    throw new Error(`timed out waiting: ${what}`);
  }
}
/** Visible, inside the viewport, and the element a tap at its centre lands on. */
async function reachable(page, selector) {
  const handles = await page.locator(selector).elementHandles();
  check(handles.length > 0, `${selector} exists`);
  for (const h of handles) {
    const ok = await h.evaluate((e) => {
      const r = e.getBoundingClientRect();
      if (r.width === 0 || r.height === 0) return "invisible";
      if (r.left < 0 || r.top < 0 || r.right > innerWidth + 0.5 || r.bottom > innerHeight + 0.5) return `outside the viewport (${JSON.stringify(r)})`;
      const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
      return hit && (hit === e || e.contains(hit)) ? "" : `covered by ${hit?.outerHTML.slice(0, 80)}`;
    });
    check(!ok, `${selector} reachable: ${ok}`);
  }
}

// ---- the scenarios ----
for (const f of fs.readdirSync(ART)) if (f.startsWith("failure-")) fs.rmSync(path.join(ART, f));
const browser = await chromium.launch({
  executablePath: process.env.EMBER_CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
});
let failed = false;
try {
  await run();
  check(pageErrors.length === 0, `page errors: ${pageErrors.join("; ")}`);
  const csp = logs.filter((l) => /Content Security Policy|Refused to/.test(l));
  check(csp.length === 0, `CSP violations: ${csp.join("; ")}`);
  console.log("all browser scenarios passed");
} catch (e) {
  failed = true;
  console.log(`FAILED: ${e.stack}`);
  for (const [who, page] of Object.entries(pages)) {
    try { await page.screenshot({ path: path.join(ART, `failure-${who}.png`), fullPage: true }); } catch { /* closed */ }
  }
  console.log(`screenshots and console log in ${ART}`);
} finally {
  fs.writeFileSync(path.join(ART, "console.log"), logs.join("\n") + "\n");
  await browser.close();
}
process.exit(failed ? 1 : 0);

async function run() {
  const annToken = await apiToken("ann");
  await step("seed: 70 older messages in each room over HTTP", async () => {
    const post = (room, text) => http("POST", `/api/rooms/${room}/messages`, annToken, text, "text/plain");
    check((await post(OPS, "needle-in-ops: the deploy key rotated")).status === 201, "post");
    for (let i = 1; i <= 70; i++) await post(OPS, `ops filler ${String(i).padStart(3, "0")}`);
    for (let i = 1; i <= 70; i++) await post(LOBBY, `lobby history ${String(i).padStart(3, "0")}`);
  });

  const desktop = { viewport: { width: 1280, height: 800 } };
  const ctxA = await browser.newContext(desktop);
  const ctxB = await browser.newContext(desktop);
  const A = await ctxA.newPage();
  const B = await ctxB.newPage();
  watch(A, "ann");
  watch(B, "bob");

  await step("page: CSP header, first paint and asset size", async () => {
    const resp = await A.goto(BASE + "/");
    const csp = resp.headers()["content-security-policy"] || "";
    check(csp.includes("script-src 'self'") && !csp.includes("unsafe-inline"), `CSP: ${csp}`);
    await A.locator("#login-name").waitFor();
    const m = await A.evaluate(() => {
      const paint = performance.getEntriesByName("first-contentful-paint")[0];
      const files = performance.getEntriesByType("resource").concat(performance.getEntriesByType("navigation"));
      return { fcp: paint?.startTime, bytes: files.reduce((n, r) => n + r.decodedBodySize, 0), files: files.length };
    });
    console.log(`measure: first-contentful-paint ${m.fcp?.toFixed(0)} ms, ${m.files} files, ${m.bytes} bytes decoded`);
    check(m.fcp !== undefined && m.fcp < 1000, `first paint ${m.fcp}`);
  });

  await step("measure: first paint of the login page in a fresh context (median of 5)", async () => {
    const times = [];
    for (let i = 0; i < 5; i++) {
      const ctx = await browser.newContext(desktop);
      const page = await ctx.newPage();
      await page.goto(BASE + "/");
      await page.locator("#login-name").waitFor();
      times.push(await page.evaluate(() => performance.getEntriesByName("first-contentful-paint")[0]?.startTime ?? NaN));
      await ctx.close();
    }
    times.sort((a, b) => a - b);
    console.log(`measure: first-contentful-paint median ${times[2].toFixed(0)} ms (${times.map((t) => t.toFixed(0)).join(", ")})`);
  });

  await step("login: a wrong password is said in words", async () => {
    await A.fill("#login-name", "ann");
    await A.fill("#login-password", "nope");
    await A.click("#login-button");
    await A.locator("#login-error", { hasText: "Wrong login or password" }).waitFor({ timeout: T });
  });

  await step("login: ann and bob see their rooms, the current one highlighted", async () => {
    await login(A, "ann");
    await login(B, "bob");
    for (const p of [A, B]) {
      await p.locator("#rooms .room", { hasText: "Lobby" }).waitFor();
      await p.locator("#rooms .room", { hasText: "Ops" }).waitFor();
      const current = await p.locator('#rooms .room[aria-current="page"]').innerText();
      check(current.includes(await p.locator("#room-title").innerText()), "current room highlighted");
    }
    await openRoom(A, "Lobby");
    await openRoom(B, "Lobby");
  });

  await step("send: bob sees ann's message live with her name", async () => {
    const t = Date.now();
    await send(A, "hello bob");
    const m = msg(B, "hello bob");
    await m.waitFor({ timeout: T });
    console.log(`measure: typed-to-seen by the other page ${Date.now() - t} ms`);
    check((await m.locator(".author").textContent()) === "Ann", "author name shown");
    await msg(A, "hello bob").and(A.locator("li:not(.pending)")).waitFor({ timeout: T });
  });

  await step("presence: bob sees ann online", async () => {
    await B.locator("#people li.online", { hasText: "Ann" }).waitFor({ timeout: T });
  });

  await step("typing: shown with a name, cleared when the box is emptied and on send", async () => {
    await A.fill("#text", "");
    await A.type("#text", "abc");
    await B.locator("#typing", { hasText: "Ann is typing…" }).waitFor({ timeout: T });
    await A.fill("#text", "");
    await A.dispatchEvent("#text", "input");
    await waitFor(B, () => document.getElementById("typing").textContent === "", null, "typing cleared on empty", 3000);
    await A.type("#text", "typed then sent");
    await B.locator("#typing", { hasText: "Ann is typing…" }).waitFor({ timeout: T });
    await A.press("#text", "Enter");
    await waitFor(B, () => document.getElementById("typing").textContent === "", null, "typing cleared on send", 3000);
  });

  await step("line breaks: Shift+Enter keeps a new line", async () => {
    await A.fill("#text", "line one");
    await A.press("#text", "Shift+Enter");
    await A.type("#text", "line two");
    await A.press("#text", "Enter");
    const m = msg(B, "line two");
    await m.waitFor({ timeout: T });
    check((await m.locator(".text").innerText()).includes("line one\nline two"), "two lines");
  });

  await step("edit: Up arrow edits the last own message; bob sees it (edited)", async () => {
    await A.focus("#text");
    await A.press("#text", "ArrowUp");
    const box = A.locator("#messages .editor textarea");
    await box.waitFor({ timeout: T });
    await box.fill("edited text");
    await box.press("Enter");
    const m = msg(B, "edited text");
    await m.waitFor({ timeout: T });
    await m.locator(".edited", { hasText: "(edited)" }).waitFor({ timeout: T });
  });

  await step("delete: from the message menu; bob sees it deleted", async () => {
    const m = msg(A, "edited text");
    await m.hover();
    await m.getByRole("button", { name: "Message actions" }).click();
    await A.getByRole("menuitem", { name: "Delete" }).click();
    await B.locator("#messages li.msg.deleted", { hasText: "This message was deleted." }).waitFor({ timeout: T });
    check(await msg(B, "edited text").count() === 0, "content gone");
  });

  await step("rooms: no leak between rooms; unread badge appears and clears", async () => {
    await openRoom(B, "Ops");
    await A.type("#text", "x");
    await send(A, "lobby-only-message");
    const lobby = B.locator("#rooms .room", { hasText: "Lobby" });
    await lobby.locator(".badge", { hasText: "1" }).waitFor({ timeout: T });
    check(await msg(B, "lobby-only-message").count() === 0, "Lobby message shown in Ops");
    check((await B.locator("#typing").textContent()) === "", "Lobby typing shown in Ops");
    check((await B.title()).startsWith("(1) Ops"), `tab title ${await B.title()}`);
    await openRoom(B, "Lobby");
    await msg(B, "lobby-only-message").waitFor({ timeout: T });
    await waitFor(B, () => !document.querySelector("#rooms .badge"), null, "badge cleared");
  });

  await step("history: scrolling up loads older pages and keeps the reader's place", async () => {
    const before = await B.locator("#messages li.msg").count();
    const top = await B.locator("#messages li.msg").first().getAttribute("id");
    await B.evaluate(() => { document.getElementById("scroller").scrollTop = 0; });
    await waitFor(B, (n) => document.querySelectorAll("#messages li.msg").length > n, before, "an older page");
    const offset = await B.evaluate((id) => document.getElementById(id).getBoundingClientRect().top -
      document.getElementById("scroller").getBoundingClientRect().top, top);
    check(offset >= -5 && offset < 200, `the reader's place moved: ${offset}`);
    for (let i = 0; i < 10 && await msg(B, "lobby history 001").count() === 0; i++) {
      await B.evaluate(() => { document.getElementById("scroller").scrollTop = 0; });
      await B.waitForTimeout(300);
    }
    check(await msg(B, "lobby history 001").count() === 1, "the oldest message loaded");
  });

  await step("search: finds a message in another room and jumps to it", async () => {
    await A.fill("#search-input", "needle");
    await A.press("#search-input", "Enter");
    const hit = A.locator("#search-results li button", { hasText: "needle-in-ops" });
    await hit.waitFor({ timeout: T });
    await hit.click();
    await A.locator("#room-title", { hasText: "Ops" }).waitFor({ timeout: T });
    const m = msg(A, "needle-in-ops");
    await m.waitFor({ timeout: T });
    const inView = await m.evaluate((e) => {
      const r = e.getBoundingClientRect();
      const s = document.getElementById("scroller").getBoundingClientRect();
      return r.top >= s.top - 1 && r.bottom <= s.bottom + 1;
    });
    check(inView, "the found message is in view");
    await openRoom(A, "Lobby");
  });

  await step("mentions and sounds: @Bob highlighted for bob, /play shown as a sound", async () => {
    await send(A, "@Bob the build is green https://example.com/build?id=7");
    const m = msg(B, "the build is green");
    await m.waitFor({ timeout: T });
    await m.locator(".mention.me", { hasText: "@Bob" }).waitFor();
    check(await m.evaluate((e) => e.classList.contains("mentions-me")), "own mention stronger");
    const a = m.locator("a");
    check((await a.getAttribute("href")) === "https://example.com/build?id=7", "link href");
    check((await a.getAttribute("rel")).includes("noopener"), "rel=noopener");
    await send(B, "/play tada");
    await msg(A, "/play tada").locator(".sound", { hasText: "tada" }).waitFor({ timeout: T });
    await send(B, "Looks good to me. Shipping it after lunch.");
    await msg(A, "Shipping it").waitFor({ timeout: T });
  });

  await step("direct conversation: ann starts one with bob; bob's list gets it", async () => {
    await A.getByRole("button", { name: "Direct message Bob" }).click();
    await A.locator("#room-title", { hasText: "Bob" }).waitFor({ timeout: T });
    await send(A, "psst, lunch today?");
    await msg(A, "psst, lunch today?").and(A.locator("li:not(.pending)")).waitFor({ timeout: T });
    const dm = B.locator("#rooms .room", { hasText: "Ann" });
    await dm.waitFor({ timeout: T });
    await dm.locator(".badge").waitFor({ timeout: T });
    await dm.click();
    await msg(B, "psst, lunch today?").waitFor({ timeout: T });
    await send(B, "Sure! The usual place at 12:30?");
    await msg(A, "usual place").waitFor({ timeout: T });
    await send(A, "Yes. @Bob bring the release notes, we can go through them there:\nhttps://example.com/releases/0.2");
    await msg(B, "release notes").waitFor({ timeout: T });
  });

  await step("screenshot: desktop", async () => {
    await A.waitForTimeout(1200); // the engine spaces one person's typing events by 1 s
    await A.type("#text", "See you");
    await B.locator("#typing", { hasText: "Ann is typing…" }).waitFor({ timeout: T });
    await B.fill("#text", "On my way");
    await B.screenshot({ path: path.join(ART, "desktop.png") });
    await A.fill("#text", "");
    await B.fill("#text", "");
    await openRoom(A, "Lobby");
    await openRoom(B, "Lobby");
  });

  const ctxP = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 1 });
  const P = await ctxP.newPage();
  watch(P, "phone");
  await step("390 px phone: every control reachable", async () => {
    await P.goto(BASE + "/");
    for (const s of ["#login-name", "#login-password", "#login-button"]) await reachable(P, s);
    await login(P, "bob");
    await openRoom(P, "Lobby");
    for (const s of ["#menu", "#search-input", "#text", "#send"]) await reachable(P, s);
    const wide = await P.evaluate(() => document.documentElement.scrollWidth <= document.documentElement.clientWidth);
    check(wide, "the phone page is wider than the screen");
    await P.click("#menu");
    await P.waitForTimeout(300);
    for (const s of ["#logout", "#rooms .room", "#people .dm"]) await reachable(P, s);
    await P.locator("#rooms .room", { hasText: "Ann" }).click();
    await waitFor(P, () => !document.body.classList.contains("drawer-open"), null, "drawer closed");
    await msg(P, "release notes").waitFor();
    await P.waitForTimeout(300);
    await P.screenshot({ path: path.join(ART, "phone.png") });
  });

  await step("long word: the page does not get wider", async () => {
    await send(A, "W".repeat(4000));
    await msg(B, "WWWWWWWWWW").waitFor({ timeout: T });
    const widths = await B.evaluate(() => {
      const d = document.documentElement;
      const s = document.getElementById("scroller");
      const send = document.getElementById("send").getBoundingClientRect();
      return { page: d.scrollWidth <= d.clientWidth, body: document.body.scrollWidth <= document.body.clientWidth,
        list: s.scrollWidth <= s.clientWidth, send: send.right <= innerWidth };
    });
    check(widths.page && widths.body && widths.list && widths.send, `widths ${JSON.stringify(widths)}`);
  });

  await step("safety: markup and script render as text", async () => {
    const img = `<img src=x onerror="window.__pwned=1">`;
    const script = `<script>window.__pwned=2</script>`;
    await send(A, img);
    await send(A, script);
    await send(A, "javascript:window.__pwned=3 and data:text/html,<b>x</b>");
    await msg(B, "javascript:").waitFor({ timeout: T });
    check((await msg(B, "onerror").locator(".text").innerText()) === img, "img shown as text");
    check((await msg(B, "</script>").locator(".text").innerText()) === script, "script shown as text");
    const counts = await B.evaluate(() => ({ img: document.querySelectorAll("#messages img").length,
      script: document.querySelectorAll("#messages script").length, b: document.querySelectorAll("#messages b").length,
      js: document.querySelectorAll('#messages a[href^="javascript"], #messages a[href^="data"]').length, pwned: window.__pwned }));
    check(counts.img === 0 && counts.script === 0 && counts.b === 0 && counts.js === 0 && counts.pwned === undefined, JSON.stringify(counts));
  });

  await step("composer: over 10,000 characters stays in the box with an error", async () => {
    const long = "a".repeat(10001);
    await A.fill("#text", long);
    await A.press("#text", "Enter");
    await A.locator("#composer-error", { hasText: "limit is 10,000" }).waitFor({ timeout: T });
    check((await A.inputValue("#text")).length === 10001, "text kept");
    await A.locator("#counter.over").waitFor();
    await A.fill("#text", "");
  });

  await step("offline: a message sent while the server is down fails; Retry delivers it once", async () => {
    const C = await (await browser.newContext(desktop)).newPage();
    watch(C, "carol");
    await C.goto(BASE + "/");
    await C.locator("#login-name").waitFor();
    await control("stop");
    await A.locator("#status", { hasText: /reconnect/i }).waitFor({ timeout: T });
    await send(A, "sent while down");
    const m = msg(A, "sent while down");
    await m.and(A.locator("li.failed")).waitFor({ timeout: T });
    await C.fill("#login-name", "bob");
    await C.fill("#login-password", "bob-password");
    await C.click("#login-button");
    await C.locator("#login-error", { hasText: "Cannot reach the server" }).waitFor({ timeout: T });
    await control("start");
    await waitFor(A, () => document.getElementById("status").hidden, null, "ann reconnected", 20000);
    await m.getByRole("button", { name: "Retry" }).click();
    await msg(A, "sent while down").and(A.locator("li:not(.pending)")).waitFor({ timeout: T });
    await msg(B, "sent while down").waitFor({ timeout: 20000 });
    const all = await history(await apiToken("ann"), LOBBY);
    check(all.filter((x) => x.content === "sent while down").length === 1, "exactly once in history");
    check(await msg(B, "sent while down").count() === 1, "exactly once for bob");
    await C.context().close();
    delete pages.carol;
  });

  await step("restart on the same database: both pages catch up, no loss, no duplicate", async () => {
    await control("stop");
    await A.locator("#status", { hasText: /reconnect/i }).waitFor({ timeout: T });
    await control("start");
    const token = await apiToken("ann");
    for (let i = 1; i <= 5; i++) {
      await http("POST", `/api/rooms/${LOBBY}/messages`, token, `while you were away ${i}`, "text/plain");
    }
    const all = await history(token, LOBBY);
    const seqs = all.map((x) => x.seq);
    for (const p of [A, B]) {
      await msg(p, "while you were away 5").waitFor({ timeout: 20000 });
      const shown = await p.evaluate(() => [...document.querySelectorAll("#messages li.msg[data-seq]")].map((e) => Number(e.dataset.seq)).filter(Boolean));
      check(new Set(shown).size === shown.length, "a message shown twice");
      const from = Math.min(...shown);
      const missing = seqs.filter((s) => s >= from && !shown.includes(s));
      check(missing.length === 0, `missing seqs ${missing}`);
      for (let i = 1; i <= 5; i++) check(await msg(p, `while you were away ${i}`).count() === 1, `catch-up ${i} once`);
    }
  });

  await step("fresh database: every page returns to the login form", async () => {
    await control("fresh");
    for (const p of [A, B, P]) await p.locator("#login:not([hidden])").waitFor({ timeout: 30000 });
    await A.locator("#login-error", { hasText: "log in again" }).waitFor();
  });

  await step("logout: back to the login form, the token is gone", async () => {
    await login(A, "ann");
    await A.click("#logout");
    await A.locator("#login:not([hidden])").waitFor({ timeout: T });
    check(await A.evaluate(() => sessionStorage.getItem("ember.token")) === null, "token removed");
    await A.reload();
    await A.locator("#login:not([hidden])").waitFor({ timeout: T });
  });

  await step("login: too many attempts are said in words with the wait", async () => {
    for (let i = 0; i < 11; i++) {
      await A.fill("#login-name", "mallory");
      await A.fill("#login-password", `guess ${i}`);
      await A.click("#login-button");
      await waitFor(A, () => !document.getElementById("login-button").disabled, null, "login answered");
    }
    await A.locator("#login-error", { hasText: /Too many attempts — try again in \d+ minutes?/ }).waitFor({ timeout: T });
  });
}
