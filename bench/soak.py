#!/usr/bin/env python3
"""Soak driver for bench/soak.sh: steady logins, refreshes and client_credentials against a
running portcullis, and every SAMPLE seconds one line of what storage and memory look like.

Usage: soak.py BASE_URL DATABASE_URL SERVER_PID DURATION SAMPLE CREDENTIALS_JSON OUT_TSV
Rates come from LOGIN_RPS, REFRESH_RPS and CC_RPS (environment). Standard library only.
"""
import base64
import http.client
import json
import os
import random
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.parse

BASE, DB_URL, PID, DURATION, SAMPLE, CREDS, OUT = sys.argv[1:8]
DURATION, SAMPLE, PID = float(DURATION), float(SAMPLE), int(PID)
RATES = {
    "login": float(os.environ.get("LOGIN_RPS", "3")),
    "refresh": float(os.environ.get("REFRESH_RPS", "6")),
    "client_credentials": float(os.environ.get("CC_RPS", "10")),
}
creds = json.load(open(CREDS))
host = urllib.parse.urlparse(BASE)
stop = threading.Event()
lock = threading.Lock()
live_tokens = []  # refresh tokens not yet used (newest last), bounded
stats = {k: {"ok": 0, "fail": 0} for k in RATES}


def basic(cid, secret):
    raw = f"{urllib.parse.quote(cid)}:{urllib.parse.quote(secret)}".encode()
    return "Basic " + base64.b64encode(raw).decode()


class Client:
    def __init__(self):
        self.conn = None

    def post(self, auth, form):
        body = urllib.parse.urlencode(form)
        headers = {"Authorization": auth, "Content-Type": "application/x-www-form-urlencoded"}
        for _ in range(2):
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection(host.hostname, host.port, timeout=10)
                self.conn.request("POST", "/token", body, headers)
                resp = self.conn.getresponse()
                return resp.status, json.loads(resp.read() or b"{}")
            except (OSError, http.client.HTTPException, ValueError):
                self.conn = None
        return 0, {}


def paced(kind, action):
    """Runs `action(client)` RATES[kind] times a second until stop."""
    rate = RATES[kind]
    if rate <= 0:
        return
    client, period, next_at = Client(), 1.0 / rate, time.monotonic()
    while not stop.is_set():
        ok = action(client)
        with lock:
            stats[kind]["ok" if ok else "fail"] += 1
        next_at += period
        delay = next_at - time.monotonic()
        if delay > 0:
            stop.wait(delay)
        else:
            next_at = time.monotonic()


def login(client):
    user = random.choice(creds["users"])
    status, body = client.post(
        basic(creds["pw_client_id"], creds["pw_client_secret"]),
        {"grant_type": "password", "username": user, "password": creds["password"]},
    )
    if status == 200 and "refresh_token" in body:
        with lock:
            live_tokens.append(body["refresh_token"])
            del live_tokens[:-200]
        return True
    return False


def refresh(client):
    with lock:
        token = live_tokens.pop(random.randrange(len(live_tokens))) if live_tokens else None
    if token is None:
        return True
    status, body = client.post(
        basic(creds["pw_client_id"], creds["pw_client_secret"]),
        {"grant_type": "refresh_token", "refresh_token": token},
    )
    if status == 200:
        with lock:
            live_tokens.append(body["refresh_token"])
        return True
    # A session the login of a sixth one ended (5 per user): expected, not a failure.
    return status == 400 and body.get("error") == "invalid_grant"


def client_credentials(client):
    status, _ = client.post(
        basic(creds["cc_client_id"], creds["cc_client_secret"]),
        {"grant_type": "client_credentials", "scope": "read"},
    )
    return status == 200


COUNTS = {
    "sessions": "SELECT COUNT(*) FROM sessions",
    "live_sessions": "SELECT COUNT(*) FROM sessions WHERE ended_at IS NULL",
    "refresh_tokens": "SELECT COUNT(*) FROM refresh_tokens",
    "live_refresh": "SELECT COUNT(*) FROM refresh_tokens WHERE rotated_at IS NULL AND revoked_at IS NULL",
    "audit_events": "SELECT COUNT(*) FROM audit_events",
}


def storage():
    """(database bytes, {count name: rows})"""
    if DB_URL.startswith("sqlite://"):
        path = DB_URL[len("sqlite://"):]
        size = sum(os.path.getsize(path + s) for s in ("", "-wal", "-shm") if os.path.exists(path + s))
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
        try:
            return size, {k: db.execute(q).fetchone()[0] for k, q in COUNTS.items()}
        finally:
            db.close()
    sql = ["SELECT pg_database_size(current_database())"] + list(COUNTS.values())
    out = subprocess.run(
        ["psql", "-tA", DB_URL, "-c", "; ".join(sql)], capture_output=True, text=True, check=True
    ).stdout.split()
    return int(out[0]), dict(zip(COUNTS, map(int, out[1:])))


def rss_kib():
    with open(f"/proc/{PID}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def sample(started, out):
    size, rows = storage()
    with lock:
        done = {k: v["ok"] for k, v in stats.items()}
        failed = sum(v["fail"] for v in stats.values())
    line = [round(time.monotonic() - started), round(size / 1024), rss_kib()] + list(rows.values())
    line += [done["login"], done["refresh"], done["client_credentials"], failed]
    print("\t".join(map(str, line)), file=out, flush=True)
    print("\t".join(map(str, line)), flush=True)


def main():
    header = ["t_s", "db_kib", "rss_kib"] + list(COUNTS) + ["logins", "refreshes", "cc", "failed"]
    threads = [
        threading.Thread(target=paced, args=(kind, fn), daemon=True)
        for kind, fn in (("login", login), ("refresh", refresh), ("client_credentials", client_credentials))
    ]
    with open(OUT, "w") as out:
        print("\t".join(header), file=out, flush=True)
        print("\t".join(header), flush=True)
        started = time.monotonic()
        sample(started, out)
        for t in threads:
            t.start()
        while time.monotonic() - started < DURATION:
            stop.wait(min(SAMPLE, DURATION - (time.monotonic() - started)))
            sample(started, out)
        stop.set()
    for t in threads:
        t.join(timeout=15)


if __name__ == "__main__":
    main()
