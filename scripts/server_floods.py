#!/usr/bin/env python3
"""Server memory under floods: runs a release ember-server on a fresh database and measures
its RSS and /health latency while hostile or careless clients flood it (the cases of the
"memory bounded by bytes" work), then the RSS after they leave.

    cargo build --release -p ember-server
    python3 scripts/server_floods.py [--bin target/release/ember-server] [--quick]

Floods (a room holding 100 messages of 10,000 characters, ~40 KB each):
  history x500 / x3000  one WebSocket sends {"type":"history","limit":100} N times, never reads
  search x500           the same with {"type":"search","query":"flood","limit":100}
  http x200             200 clients GET /api/rooms/{id}/messages?limit=100 (~4 MB), never read
  pings                 one WebSocket sends pings for 8 s and never reads
then SIGTERM during a history x3000 flood (time to exit). Each phase lasts 8 s (past the 5 s stall timeout), then its clients leave and the RSS is
sampled again 3 s later. Standard library only.
"""

import argparse
import json
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

PHASE_S = 8.0
AFTER_S = 3.0


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def probe_health(url, stop, out):
    """In its own process (no GIL shared with the flooding clients): GET /health every
    100 ms, latencies in ms into `out`."""
    while not stop.is_set():
        t = time.monotonic()
        try:
            urllib.request.urlopen(url + "/health", timeout=30).read()
            out.append((time.monotonic() - t) * 1000)
        except OSError:
            out.append(float("inf"))
        time.sleep(0.1)


class Sampler(threading.Thread):
    """Samples the server's RSS every 50 ms; /health latency is probed by another process."""

    def __init__(self, pid, url, manager):
        super().__init__(daemon=True)
        self.pid, self.rss_max = pid, 0
        self.stop = manager.Event()
        self.latencies = manager.list()
        self.prober = multiprocessing.Process(
            target=probe_health, args=(url, self.stop, self.latencies), daemon=True)
        self.prober.start()

    def run(self):
        while not self.stop.is_set():
            self.rss_max = max(self.rss_max, rss_kib(self.pid))
            time.sleep(0.05)

    @property
    def health(self):
        self.prober.join(timeout=35)
        return list(self.latencies)


def admin(binary, db, *args):
    out = subprocess.run([binary, *args, "--db", db], check=True, capture_output=True, text=True)
    return out.stdout.strip()


def small_socket(addr):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(addr)
    return s


def ws_connect(addr, token):
    s = small_socket(addr)
    s.sendall(
        (f"GET /ws?token={token} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
         "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
         "Sec-WebSocket-Version: 13\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += s.recv(1)
    assert head.startswith(b"HTTP/1.1 101"), head
    return s


def frame(opcode, payload):
    """A masked client frame (mask 0, so the payload goes as is)."""
    n = len(payload)
    if n < 126:
        head = bytes([0x80 | opcode, 0x80 | n])
    else:
        head = bytes([0x80 | opcode, 0x80 | 126]) + n.to_bytes(2, "big")
    return head + b"\0\0\0\0" + payload


def send_until_blocked(s, data, deadline):
    """Sends what the server takes until `deadline`; True when it stopped taking it."""
    s.settimeout(0.5)
    view = memoryview(data)
    while view and time.monotonic() < deadline:
        try:
            view = view[s.send(view):]
        except (socket.timeout, BlockingIOError):
            return True
        except OSError:
            return True
    return bool(view)


def phase(name, pid, url, clients_fn, manager):
    time.sleep(1.0)
    base = rss_kib(pid)
    sampler = Sampler(pid, url, manager)
    sampler.start()
    t0 = time.monotonic()
    socks = clients_fn(t0 + PHASE_S)
    left = PHASE_S - (time.monotonic() - t0)
    if left > 0:
        time.sleep(left)
    sampler.stop.set()
    for s in socks:
        s.close()
    time.sleep(AFTER_S)
    after = rss_kib(pid)
    h = sorted(sampler.health)
    row = {
        "flood": name,
        "baseline_mib": round(base / 1024, 1),
        "peak_mib": round(sampler.rss_max / 1024, 1),
        "over_baseline_mib": round((sampler.rss_max - base) / 1024, 1),
        "after_mib": round(after / 1024, 1),
        "health_p50_ms": round(statistics.median(h), 1) if h else None,
        "health_max_ms": round(h[-1], 1) if h else None,
        "health_samples": len(h),
    }
    print(json.dumps(row), flush=True)
    return row


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="target/release/ember-server")
    ap.add_argument("--quick", action="store_true", help="30 HTTP clients, x300 floods")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="ember-floods-")
    db = os.path.join(tmp, "floods.db")
    admin(a.bin, db, "user", "add", "ann", "--name", "Ann", "--password", "ann-password", "--admin")
    room = admin(a.bin, db, "room", "add", "Lobby", "--kind", "open")
    token = admin(a.bin, db, "token", "create", "ann")
    env = dict(os.environ, EMBER_POST_RATE="1000", RUST_LOG="warn")
    server = subprocess.Popen([a.bin, "serve", "--db", db, "--listen", "127.0.0.1:0"],
                              stdout=subprocess.PIPE, env=env, text=True)
    try:
        line = server.stdout.readline().strip()
        host, port = line.removeprefix("listening on http://").rstrip("/").split(":")
        addr, url = (host, int(port)), f"http://{host}:{port}"
        for i in range(100):
            head = f"flood {i} "
            body = (head + "\U0001F600" * (10_000 - len(head))).encode()
            req = urllib.request.Request(f"{url}/api/rooms/{room}/messages", data=body,
                                         headers={"Authorization": f"Bearer {token}",
                                                  "Content-Type": "text/plain"})
            urllib.request.urlopen(req, timeout=30).read()
        time.sleep(2.0)  # let the indexer catch up before searching
        n_small, n_big, n_http = (300, 300, 30) if a.quick else (500, 3000, 200)

        def ws_flood(request, count):
            def run(deadline):
                s = ws_connect(addr, token)
                data = frame(1, json.dumps(request).encode()) * count
                send_until_blocked(s, data, deadline)
                return [s]
            return run

        def http_flood(deadline):
            req = (f"GET /api/rooms/{room}/messages?limit=100 HTTP/1.1\r\nHost: x\r\n"
                   f"Authorization: Bearer {token}\r\n\r\n").encode()
            socks = []
            for _ in range(n_http):
                s = small_socket(addr)
                s.sendall(req)
                socks.append(s)
            return socks

        def ping_flood(deadline):
            s = ws_connect(addr, token)
            burst = frame(9, b"p" * 100) * 1000
            while time.monotonic() < deadline and not send_until_blocked(s, burst, deadline):
                pass
            return [s]

        history = {"type": "history", "room_id": room, "limit": 100}
        search = {"type": "search", "query": "flood", "limit": 100}
        print(json.dumps({"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                          "bin": a.bin, "cpus": os.cpu_count()}), flush=True)
        m = multiprocessing.Manager()
        phase(f"history x{n_small}", server.pid, url, ws_flood(history, n_small), m)
        phase(f"history x{n_big}", server.pid, url, ws_flood(history, n_big), m)
        phase(f"search x{n_small}", server.pid, url, ws_flood(search, n_small), m)
        phase(f"http x{n_http} (4 MB page)", server.pid, url, http_flood, m)
        phase("ping flood", server.pid, url, ping_flood, m)
        # SIGTERM in the middle of a flood.
        flooder = ws_flood(history, n_big)(time.monotonic() + 2.0)
        time.sleep(1.0)
        t = time.monotonic()
        server.terminate()
        server.wait(timeout=10)
        print(json.dumps({"sigterm_during_flood_exit_s": round(time.monotonic() - t, 2),
                          "code": server.returncode}), flush=True)
        for s in flooder:
            s.close()
    finally:
        if server.poll() is None:
            server.kill()


if __name__ == "__main__":
    sys.exit(main())
