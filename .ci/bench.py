"""Drives the benchmark: starts the release server per backend, seeds a tenant of 50 users,
runs wrk against each route, and prints a Markdown table. Invoked by .ci/bench."""

import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "tenantry-server")
PASSWORD = "correct horse battery"
DURATION = os.environ.get("BENCH_DURATION", "10s")


def request(base, method, path, body=None, token=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(req) as resp:
        return json.loads(resp.read() or b"null")


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def to_ms(text):
    value, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]


def wrk(url, headers=(), script=None):
    cmd = ["wrk", "-t2", "-c16", f"-d{DURATION}", "--latency"]
    for header in headers:
        cmd += ["-H", header]
    if script:
        cmd += ["-s", script]
    out = subprocess.run(cmd + [url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = to_ms(re.search(r"50%\s+(\S+)", out).group(1))
    p99 = to_ms(re.search(r"99%\s+(\S+)", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rps, p50, p99, int(non2xx.group(1)) if non2xx else 0


def start(database_url, port, workdir):
    env = dict(os.environ)
    env.update({
        "DATABASE_URL": database_url, "BIND_ADDR": f"127.0.0.1:{port}", "RATE_LIMIT_DISABLED": "1",
        "LEPTOS_SITE_ROOT": os.path.join(ROOT, "target", "site"), "LEPTOS_OUTPUT_NAME": "tenantry",
        "LEPTOS_ENV": "PROD", "RUST_LOG": "warn", "SECRET_KEY": "bench-secret-bench-secret-bench-secret",
    })
    log = open(os.path.join(workdir, f"server-{port}.log"), "w")
    proc = subprocess.Popen([BIN, "serve"], cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            request(base, "GET", "/api/health/")
            return proc, base
        except Exception:
            time.sleep(0.05)
    proc.kill()
    sys.exit(f"server on {database_url} did not start; see {log.name}")


def argon2_hash_ms():
    out = subprocess.run([BIN, "bench-argon2"], capture_output=True, text=True, check=True).stdout
    return float(re.search(r"([\d.]+) ms", out).group(1))


def run_backend(name, database_url, port, workdir):
    proc, base = start(database_url, port, workdir)
    try:
        time.sleep(1)
        idle = rss_mb(proc.pid)
        tenant = f"Bench {uuid.uuid4().hex[:8]}"
        email = f"admin-{uuid.uuid4().hex[:8]}@bench.test"
        request(base, "POST", "/api/tenants/", {"name": tenant, "admin_email": email, "admin_password": PASSWORD})
        token = request(base, "POST", "/api/auth/login/", {"email": email, "password": PASSWORD})["access"]
        for i in range(49):
            request(base, "POST", "/api/users/", {"email": f"user{i}-{uuid.uuid4().hex[:6]}@bench.test", "password": PASSWORD}, token)
        assert request(base, "GET", "/api/users/", token=token)["count"] == 50
        login_lua = os.path.join(workdir, "login.lua")
        with open(login_lua, "w") as script:
            body = json.dumps({"email": email, "password": PASSWORD}).replace('"', '\\"')
            script.write(f'wrk.method = "POST"\nwrk.body = "{body}"\nwrk.headers["Content-Type"] = "application/json"\n')
        auth = f"Authorization: Bearer {token}"
        rows = [
            ("no-database page (baseline): GET /login", wrk(base + "/login")),
            ("GET /api/health/", wrk(base + "/api/health/")),
            ("GET /api/me/", wrk(base + "/api/me/", [auth])),
            ("GET /api/users/ (50 users)", wrk(base + "/api/users/", [auth])),
            ("POST /api/auth/login/", wrk(base + "/api/auth/login/", script=login_lua)),
            ("GET /pkg/tenantry.css (gzip)", wrk(base + "/pkg/tenantry.css", ["Accept-Encoding: gzip, br"])),
            ("GET /pkg/tenantry.wasm (gzip)", wrk(base + "/pkg/tenantry.wasm", ["Accept-Encoding: gzip, br"])),
        ]
        loaded = rss_mb(proc.pid)
        return rows, idle, loaded
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def main():
    workdir = tempfile.mkdtemp(prefix="tenantry-bench-")
    backends = [("SQLite", f"sqlite://{workdir}/bench.sqlite?mode=rwc", 3401)]
    pg = os.environ.get("TEST_POSTGRES_URL")
    if pg:
        name = f"tenantry_bench_{uuid.uuid4().hex[:8]}"
        subprocess.run(["psql", pg, "-qc", f"CREATE DATABASE {name}"], check=True)
        backends.append(("PostgreSQL", pg.rsplit("/", 1)[0] + "/" + name, 3402))
    hash_ms = argon2_hash_ms()
    cores = os.cpu_count() or 1
    print(f"# Tenantry benchmark ({time.strftime('%Y-%m-%d %H:%M')} UTC, {cores} cores, wrk -t2 -c16 -d{DURATION})\n")
    print(f"One argon2id hash (m=19456 KiB, t=2, p=1): {hash_ms:.1f} ms, so the pure argon2 limit is "
          f"{cores} / {hash_ms:.1f} ms = {cores * 1000 / hash_ms:.0f} logins/s.\n")
    for label, url, port in backends:
        rows, idle, loaded = run_backend(label, url, port, workdir)
        baseline = rows[0][1][0]
        print(f"## {label}\n")
        print("| route | req/s | p50 ms | p99 ms | vs baseline | non-2xx |")
        print("|---|---:|---:|---:|---:|---:|")
        for route, (rps, p50, p99, bad) in rows:
            print(f"| {route} | {rps:,.0f} | {p50:.2f} | {p99:.2f} | {rps / baseline:.2f}x | {bad} |")
        login = rows[4][1][0]
        print(f"\nLogin: {login:.0f}/s = {100 * login / (cores * 1000 / hash_ms):.0f}% of the argon2 limit. "
              f"Server RSS: {idle:.1f} MB idle, {loaded:.1f} MB after load.\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
