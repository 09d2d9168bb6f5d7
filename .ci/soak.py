"""The soak (issue 16): the release server under a steady mixed load of reads and writes for
SOAK_MINUTES (10 by default) on each backend, through the real binary. It checks what a long run
breaks and a short benchmark does not: no 5xx at all, no "database is locked" in the server's
log, resident memory flat (the last minute within 10% of the second), and the outbox drained
after the load stops. Run by `bash .ci/bench --soak`; prints a Markdown table."""

import os
import re
import subprocess
import threading
import time
import urllib.request

import bench

MINUTES = float(os.environ.get("SOAK_MINUTES", "10"))
TARGET_RPS = int(os.environ.get("SOAK_RPS", "2200"))
# How many tenants share the load, each with its own API key; each request picks one at random.
# 1 (the default) sends every invitation into one tenant, whose lists then grow through the
# run; more tenants is closer to a real service, where each tenant grows slowly.
TENANTS = int(os.environ.get("SOAK_TENANTS", "1"))
CONNECTIONS = 16

# One request in WRITE_EVERY is a write (an invitation: its row, its audit row, its webhook
# event and its e-mail in the outbox, in one transaction); the others rotate through the read
# routes. Each wrk thread numbers its own invitations, so every address is new.
MIX = r"""
local reads = {"/api/users/", "/api/me/", "/api/user-roles/", "/api/audit-logs/", "/api/invitations/", "/api/roles/"}
-- e5 and writes are globals: done() reads them from each thread's state with thread:get.
local keys = {%(keys)s}
local counter, thread_id = 0, 0
e5, writes = 0, 0
local threads = {}
function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end
function init(args)
  thread_id = id
  wrk.headers["Content-Type"] = "application/json"
end
-- wrk.format takes the headers it is given instead of wrk.headers, so each request's are a copy
-- of those with its tenant's key.
local function headers()
  local h = {}
  for name, value in pairs(wrk.headers) do h[name] = value end
  -- At random: a turn by counter would send every invitation (each WRITE_EVERY-th request)
  -- to the same few tenants.
  h["X-API-Key"] = keys[math.random(#keys)]
  return h
end
function delay()
  return %(delay_ms)d
end
function request()
  counter = counter + 1
  if counter %% %(write_every)d == 0 then
    writes = writes + 1
    local body = string.format('{"email": "soak-%%d-%%d-%%d@soak.test", "role": "VIEWER"}', %(run)d, thread_id, writes)
    return wrk.format("POST", "/api/users/invite/", headers(), body)
  end
  return wrk.format("GET", reads[(counter %% #reads) + 1], headers())
end
function response(status, headers, body)
  if status >= 500 then e5 = e5 + 1 end
end
function done(summary, latency, requests)
  local total5, total_writes = 0, 0
  for _, t in ipairs(threads) do
    total5 = total5 + t:get("e5")
    total_writes = total_writes + t:get("writes")
  end
  io.write(string.format("SOAK 5xx=%%d writes=%%d\n", total5, total_writes))
end
"""
WRITE_EVERY = 10


def script(workdir, keys, delay_ms, run):
    path = os.path.join(workdir, f"soak-{run}.lua")
    with open(path, "w") as out:
        quoted = ", ".join(f'"{key}"' for key in keys)
        out.write(MIX % {"keys": quoted, "delay_ms": delay_ms, "write_every": WRITE_EVERY, "run": run})
    return path


def run_wrk(base, lua, seconds):
    cmd = ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{int(seconds)}s", "--latency", "-s", lua, base + "/"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = bench.to_ms(re.search(r"^\s*99%\s+(\S+)", out, re.M).group(1))
    found = re.search(r"SOAK 5xx=(\d+) writes=(\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return rps, p99, int(found.group(1)), int(found.group(2)), (errors.group(1) if errors else "none")


def outbox_depth(base, token):
    """E-mails and webhook deliveries waiting, from `GET /metrics`."""
    req = urllib.request.Request(base + "/metrics")
    req.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(req) as resp:
        text = resp.read().decode()
    return sum(float(v) for v in re.findall(r'^tenantry_outbox_depth\{[^}]*\} (\S+)', text, re.M))


def soak(label, database_url, port, workdir):
    os.environ["METRICS_ENABLED"] = "1"
    os.environ["METRICS_TOKEN"] = "soak-metrics"
    proc, base = bench.start(database_url, port, workdir)
    try:
        keys = []
        for _ in range(TENANTS):
            _, _, token = bench.seed_tenant(base)
            keys.append(bench.request(base, "POST", "/api/api-keys/", {"name": "soak", "scopes": ["*"]}, token)["key"])
        # Calibrate the pause between a connection's requests for the target rate: wrk waits
        # `delay` after each answer, so rate = connections / (latency + delay).
        probe_delay = 5
        rps, _, _, _, _ = run_wrk(base, script(workdir, keys, probe_delay, 0), 10)
        latency_ms = max(CONNECTIONS * 1000 / rps - probe_delay, 0)
        delay_ms = max(int(CONNECTIONS * 1000 / TARGET_RPS - latency_ms), 0)
        samples = []
        stop = threading.Event()

        def sample():
            started = time.time()
            while not stop.wait(5):
                samples.append((time.time() - started, bench.rss_mb(proc.pid)))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        rps, p99, e5, writes, socket_errors = run_wrk(base, script(workdir, keys, delay_ms, 1), MINUTES * 60)
        stop.set()
        sampler.join()
        minute = lambda lo, hi: [mb for at, mb in samples if lo <= at < hi]
        second = minute(60, 120)
        last = minute(MINUTES * 60 - 60, MINUTES * 60 + 5)
        rss_second, rss_last = sum(second) / len(second), sum(last) / len(last)
        drained_in = None
        started = time.time()
        while time.time() - started < 120:
            if outbox_depth(base, "soak-metrics") == 0:
                drained_in = time.time() - started
                break
            time.sleep(1)
    finally:
        bench.stop(proc)
    with open(os.path.join(workdir, f"server-{port}.log")) as log:
        text = log.read()
    locked = text.count("database is locked")
    logged_errors = len(re.findall(r"\bERROR\b", text))
    return {
        "label": label, "rps": rps, "p99": p99, "e5": e5, "writes": writes, "socket_errors": socket_errors,
        "rss_second": rss_second, "rss_last": rss_last, "drained_in": drained_in, "locked": locked,
        "logged_errors": logged_errors, "delay_ms": delay_ms,
    }


def report(results):
    spread = "one tenant" if TENANTS == 1 else f"spread at random over {TENANTS} tenants"
    print(f"## Soak: {MINUTES:g} minutes of mixed load per backend (wrk -t2 -c{CONNECTIONS}, 1 request in {WRITE_EVERY} an invitation, {spread})\n")
    print("| backend | req/s | p99 ms | invitations | 5xx | socket errors | 'database is locked' | ERROR lines | RSS minute 2 MB | RSS last minute MB | last/second | outbox drained after load | verdict |")
    print("|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---|---|")
    failed = False
    for r in results:
        ratio = r["rss_last"] / r["rss_second"]
        ok = r["e5"] == 0 and r["locked"] == 0 and abs(ratio - 1) <= 0.10 and r["drained_in"] is not None and r["rps"] >= 2000
        failed |= not ok
        drained = f"{r['drained_in']:.0f} s" if r["drained_in"] is not None else "NOT within 120 s"
        print(f"| {r['label']} | {r['rps']:,.0f} | {r['p99']:.2f} | {r['writes']:,} | {r['e5']} | {r['socket_errors']} | {r['locked']} | "
              f"{r['logged_errors']} | {r['rss_second']:.1f} | {r['rss_last']:.1f} | {ratio:.3f} | {drained} | {'pass' if ok else 'FAIL'} |")
    print()
    return failed
