// The WebSocket: the token in the subprotocol, requests matched to replies by `ref`,
// reconnection with exponential backoff and jitter, and telling a refused token from a
// server that cannot be reached.

const TIMEOUT_MS = 20000;

export class Conn {
  /** `on.frame(f)` for frames without a pending request, `on.ready(f)`, `on.down(info)`
   *  with {retryIn} while reconnecting, `on.refused()` when the token is no longer valid. */
  constructor(token, on) {
    this.token = token;
    this.on = on;
    this.ws = null;
    this.open = false;
    this.nextRef = 1;
    this.waiting = new Map();
    this.attempt = 0;
    this.timer = null;
    this.stopped = false;
  }

  connect() {
    clearTimeout(this.timer);
    if (this.stopped) return;
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    let ws;
    try {
      ws = new WebSocket(`${scheme}://${location.host}/ws`, ["ember", `bearer.${this.token}`]);
    } catch {
      this.retry();
      return;
    }
    this.ws = ws;
    let gotReady = false;
    ws.onmessage = (e) => {
      let f;
      try { f = JSON.parse(e.data); } catch { return; }
      if (f.type === "ready") {
        gotReady = true;
        this.open = true;
        this.attempt = 0;
        this.on.ready(f);
        return;
      }
      const w = f.ref !== undefined && this.waiting.get(f.ref);
      if (w) {
        this.waiting.delete(f.ref);
        clearTimeout(w.timer);
        if (f.type === "error") w.reject(f);
        else w.resolve(f);
        return;
      }
      this.on.frame(f);
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.open = false;
      for (const w of this.waiting.values()) {
        clearTimeout(w.timer);
        w.reject({ code: "disconnected", message: "The connection was lost." });
      }
      this.waiting.clear();
      if (this.stopped) return;
      if (gotReady) this.on.down({ retryIn: 0 });
      this.check();
    };
  }

  /** After a failed or lost connection: a refused token goes back to the login form,
   *  anything else reconnects later. */
  async check() {
    try {
      const r = await fetch("/api/session", { headers: { Authorization: `Bearer ${this.token}` } });
      if (r.status === 401) {
        this.stop();
        this.on.refused();
        return;
      }
    } catch { /* unreachable: keep trying */ }
    this.retry();
  }

  retry() {
    if (this.stopped) return;
    const base = Math.min(30000, 500 * 2 ** this.attempt);
    const delay = Math.round(base / 2 + Math.random() * base / 2);
    this.attempt = Math.min(this.attempt + 1, 10);
    this.on.down({ retryIn: delay });
    this.timer = setTimeout(() => this.connect(), delay);
  }

  /** Reconnects now instead of waiting for the backoff. */
  now() {
    if (!this.ws) this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.ws) this.ws.close(1000);
  }

  /** Sends a frame without waiting for an answer. */
  send(frame) {
    if (!this.open) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  /** Sends a frame and resolves with its reply (rejects with the error frame). */
  request(frame) {
    return new Promise((resolve, reject) => {
      if (!this.open) {
        reject({ code: "disconnected", message: "Not connected." });
        return;
      }
      const ref = this.nextRef++;
      const timer = setTimeout(() => {
        this.waiting.delete(ref);
        reject({ code: "timeout", message: "No answer from the server." });
      }, TIMEOUT_MS);
      this.waiting.set(ref, { resolve, reject, timer });
      this.ws.send(JSON.stringify({ ...frame, ref }));
    });
  }
}

/** An HTTP call of the API with the session token; resolves with {status, body}. */
export async function api(method, path, token, body) {
  const headers = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  let data = null;
  try { data = await r.json(); } catch { /* empty body */ }
  return { status: r.status, body: data };
}
