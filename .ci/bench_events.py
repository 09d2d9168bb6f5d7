"""Events out (see .ci/bench-events): invitation throughput with and without a webhook taking
every event, and the time to deliver 10,000 events to a local receiver."""
import json
import os
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402  (the main benchmark's helpers: start, stop, wrk, request, seed_tenant …)

RECEIVER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bench_receiver.js")


def stats(url):
    with urllib.request.urlopen(url + "/stats") as resp:
        return json.loads(resp.read())


def invite_script(workdir):
    path = os.path.join(workdir, "invite.lua")
    with open(path, "w") as script:
        script.write(
            'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
            'counter = 0\nrequest = function()\n  counter = counter + 1\n'
            '  local body = string.format(\'{"email": "bench-%d-%d@invite.test", "role": "VIEWER"}\', math.random(1, 1000000000), counter)\n'
            '  return wrk.format(nil, nil, nil, body)\nend\n'
        )
    return path


def timed_import(base, tenant_id, token, prefix, count):
    """Seconds a `count`-row invite import takes, from the request until its job is done."""
    users = [{"email": f"{prefix}-{i:05d}@import.bench"} for i in range(count)]
    started = time.time()
    job = bench.request(base, "POST", f"/api/tenants/{tenant_id}/users/bulk/", {"users": users}, token)
    while job["status"] not in ("done", "failed"):
        time.sleep(0.05)
        job = bench.request(base, "GET", f"/api/jobs/{job['id']}/", token=token)
    assert job["status"] == "done", job
    return time.time() - started


def import_rows(base, hook_url, down_url, count=5000):
    """Invite imports, which write faster than the HTTP benchmark (one request, many rows): into
    a tenant without a webhook, one whose webhook takes every event, and one whose webhook takes
    every event but whose endpoint is down (events enqueued, none sent), twice each in the order
    A B C C B A. Returns (rows/s without, rows/s delivering, rows/s queued only, events delivered
    while the delivering imports ran)."""
    tenants = {}
    for name, url in [("plain", None), ("hooked", hook_url + "/import"), ("queued", down_url)]:
        tenant_id, _, token = bench.seed_tenant(base)
        if url:
            bench.request(base, "POST", "/api/webhooks/", {"url": url, "events": ["*"]}, token)
        tenants[name] = (tenant_id, token)
    seconds = dict.fromkeys(tenants, 0.0)
    delivered = 0
    for n, name in enumerate(["plain", "hooked", "queued", "queued", "hooked", "plain"]):
        before = stats(hook_url)["count"]
        seconds[name] += timed_import(base, *tenants[name], f"{name}-{n}", count)
        if name == "hooked":
            delivered += stats(hook_url)["count"] - before
    rate = {name: 2 * count / spent for name, spent in seconds.items()}
    return rate["plain"], rate["hooked"], rate["queued"], delivered


def run_backend(label, database_url, port, workdir):
    os.environ.update({"WEBHOOK_ALLOW_HTTP": "1", "WEBHOOK_ALLOW_PRIVATE": "1", "EMAIL_PROVIDER": "log"})
    proc, base = bench.start(database_url, port, workdir)
    receiver_port = port + 100
    receiver = subprocess.Popen(["node", RECEIVER, str(receiver_port)])
    hook_url = f"http://127.0.0.1:{receiver_port}"
    try:
        time.sleep(0.5)
        script = invite_script(workdir)
        plain_id, _, plain_token = bench.seed_tenant(base)
        hooked_id, _, hooked_token = bench.seed_tenant(base)
        bench.request(base, "POST", "/api/webhooks/", {"url": hook_url + "/all", "events": ["*"]}, hooked_token)
        # A third tenant's webhook points where nothing listens: each invitation's event is
        # written and fanned out to a delivery as for the second, but the endpoint's first
        # delivery fails and the rest wait behind it, so nothing is sent. This row is the cost of
        # queueing events alone, without the sending (and the receiver) sharing the cores.
        queued_id, _, queued_token = bench.seed_tenant(base)
        bench.request(base, "POST", "/api/webhooks/", {"url": f"http://127.0.0.1:{receiver_port + 2}/none", "events": ["*"]}, queued_token)
        plain, hooked, queued = [], [], []
        sent_before = stats(hook_url)["count"]
        hooked_seconds = 0.0
        # Invitations get slower as the database grows (measured: 980/s in a fresh SQLite
        # database, about 800/s a minute later), so a fixed order would charge that growth to
        # the rows run later. The second round runs in the reverse order: each row's two runs
        # then sit, on average, at the same point of the growth.
        runs = [(plain, plain_token), (hooked, hooked_token), (queued, queued_token)]
        for order in (runs, runs[::-1]):
            for results, token in order:
                started = time.time()
                results.append(bench.wrk(base + "/api/users/invite/", [f"Authorization: Bearer {token}"], script=script))
                if results is hooked:
                    hooked_seconds += time.time() - started
        rows = [("POST /api/users/invite/ (no webhook)", bench.merged(plain)), ("POST /api/users/invite/ (a webhook takes every event)", bench.merged(hooked)),
                ("POST /api/users/invite/ (a webhook takes every event; endpoint down, events queued)", bench.merged(queued))]
        events = hooked[0][0] + hooked[1][0]
        delivered_during = stats(hook_url)["count"] - sent_before
        # Then let the rest arrive: until the count stops growing for a second (60 s at most).
        def settle():
            last, steady = -1, 0
            for _ in range(600):
                now = stats(hook_url)["count"]
                steady = steady + 1 if now == last else 0
                if steady >= 10:
                    break
                last = now
                time.sleep(0.1)
        settle()
        imports = import_rows(base, hook_url, f"http://127.0.0.1:{receiver_port + 2}/none")
        settle()
        # 10,000 events queued while the endpoint is down (a 10,000-row invite import into a
        # tenant whose webhook takes member.invited; its receiver is not listening, so the first
        # delivery fails and the rest wait behind it), then the receiver comes up and Retry on
        # the waiting delivery sends them: timed from the Retry until the receiver has them all.
        big_id, _, big_token = bench.seed_tenant(base)
        down_port = receiver_port + 1
        hook = bench.request(base, "POST", "/api/webhooks/", {"url": f"http://127.0.0.1:{down_port}/big", "events": ["member.invited"]}, big_token)
        users = [{"email": f"e-{i:05d}@events.bench"} for i in range(10000)]
        started = time.time()
        job = bench.request(base, "POST", f"/api/tenants/{big_id}/users/bulk/", {"users": users}, big_token)
        while job["status"] not in ("done", "failed"):
            time.sleep(0.2)
            job = bench.request(base, "GET", f"/api/jobs/{job['id']}/", token=big_token)
        imported_at = time.time() - started
        # Every delivery made, and the oldest one tried (and failed: nothing listens yet).
        while True:
            queued = bench.request(base, "GET", f"/api/webhooks/{hook['id']}/deliveries/", token=big_token)["count"]
            if queued >= 10000:
                last_page = (queued - 1) // 100 + 1
                oldest = bench.request(base, "GET", f"/api/webhooks/{hook['id']}/deliveries/?page={last_page}", token=big_token)["results"][-1]
                if oldest["attempts"] > 0:
                    break
            time.sleep(0.2)
        big = subprocess.Popen(["node", RECEIVER, str(down_port)])
        time.sleep(0.5)
        started = time.time()
        bench.request(base, "POST", f"/api/webhooks/{hook['id']}/deliveries/{oldest['id']}/retry/", {}, big_token)
        delivered_at = None
        big_url = f"http://127.0.0.1:{down_port}"
        while time.time() - started < 300:
            if stats(big_url)["count"] >= 10000:
                delivered_at = time.time() - started
                break
            time.sleep(0.05)
        final = stats(big_url)
        big.terminate()
        return rows, events / 2, hooked_seconds, delivered_during, imported_at, delivered_at, final["count"], final, imports
    finally:
        receiver.terminate()
        bench.stop(proc)


def main():
    workdir = bench.scratch_dir("tenantry-bench-events-")
    backends = [("SQLite", f"sqlite://{workdir}/events.sqlite?mode=rwc", 3501)]
    pg = os.environ.get("TEST_POSTGRES_URL")
    if pg:
        backends.append(("PostgreSQL", bench.scratch_database(pg), 3502))
    print(f"# Tenantry events benchmark ({time.strftime('%Y-%m-%d %H:%M')} UTC, {os.cpu_count()} cores, wrk -t2 -c16 -d{bench.DURATION})\n")
    for label, url, port in backends:
        rows, event_rate, _, delivered_during, imported_at, delivered_at, delivered, final, imports = run_backend(label, url, port, workdir)
        print(f"## {label}\n")
        print("| route | req/s | p50 ms | p99 ms | non-2xx |")
        print("|---|---:|---:|---:|---:|")
        for route, (rps, p50, p99, bad) in rows:
            print(f"| {route} | {rps:,.0f} | {p50:.2f} | {p99:.2f} | {bad} |")
        ratio = rows[1][1][0] / rows[0][1][0]
        print(f"\nWith a webhook taking every event, invitations run at {100 * ratio:.0f}% of the throughput without one, "
              f"enqueuing {event_rate:,.0f} events/s (each invitation is one event, written in its transaction) and delivering "
              f"{delivered_during:,} of them to the receiver meanwhile.")
        queued_ratio = rows[2][1][0] / rows[0][1][0]
        print(f"Queueing the events alone (the endpoint down, so none is sent while the load runs), invitations run at "
              f"{100 * queued_ratio:.0f}% of the throughput without a webhook.")
        plain_rate, hooked_rate, queued_rate, import_delivered = imports
        print(f"Invite imports (5,000 rows, twice per row, in the order without, delivering, queued, queued, delivering, without): "
              f"{plain_rate:,.0f} rows/s without a webhook; {hooked_rate:,.0f} rows/s ({100 * hooked_rate / plain_rate:.0f}%) with one taking "
              f"every event, so {hooked_rate:,.0f} events/s enqueued, {import_delivered:,} of the 10,000 delivered while the imports ran; "
              f"{queued_rate:,.0f} rows/s ({100 * queued_rate / plain_rate:.0f}%) with the endpoint down (events enqueued only).")
        done = f"{delivered_at:.1f} s" if delivered_at else "not within 300 s"
        print(f"10,000 events queued behind an endpoint that was down (a 10,000-row invite import, {imported_at:.1f} s): once it is up, all delivered "
              f"{done} after Retry ({delivered:,} received; every Webhook-Id unique: {final['unique'] >= final['count']}; in order: {final['in_order']}).\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
