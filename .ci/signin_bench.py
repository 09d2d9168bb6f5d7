"""Sign-in with two-factor on (issue 12): how many sign-ins per second complete when every one
is a password (`POST /api/auth/login/`, answered with an `mfa_token`) followed by a TOTP code
(`POST /api/auth/login/mfa/`), against the argon2 limit (cores / one hash) and against plain
password sign-ins sent the same way. Run by `bash .ci/bench --signin`; prints a Markdown table.

A TOTP code works once per 30-second step and account, so each sign-in uses an account of its
own: the accounts are made and enrolled first (each enrolment costs two argon2 hashes), as many
as the run can use."""

import base64
import concurrent.futures
import hashlib
import hmac
import http.client
import json
import os
import resource
import statistics
import struct
import threading
import time
import uuid

import bench

SECONDS = float(os.environ.get("SIGNIN_SECONDS", "10"))
CLIENTS = int(os.environ.get("SIGNIN_CLIENTS", "8"))
# The TOTP row runs in this many slices, with an argon2 sample between each two (see `sliced`).
SLICES = max(1, int(os.environ.get("SIGNIN_SLICES", "5")))


def totp(secret, step):
    """RFC 6238 (SHA-1, 6 digits) for a base32 secret at a 30-second step."""
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    mac = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    at = mac[-1] & 0x0F
    return f"{(struct.unpack('>I', mac[at:at + 4])[0] & 0x7FFFFFFF) % 1_000_000:06d}"


def step_now():
    return int(time.time()) // 30


def enrolled_accounts(base, token, count):
    """`count` members with TOTP on: (e-mail, secret, the step their enrolment used)."""
    def make(i):
        email = f"mfa-{i}-{uuid.uuid4().hex[:6]}@signin.bench"
        bench.request(base, "POST", "/api/users/", {"email": email, "password": bench.PASSWORD}, token)
        access = bench.request(base, "POST", "/api/auth/login/", {"email": email, "password": bench.PASSWORD})["access"]
        secret = bench.request(base, "POST", "/api/me/2fa/totp/", {}, access)["secret"]
        step = step_now()
        bench.request(base, "POST", "/api/me/2fa/totp/confirm/", {"code": totp(secret, step)}, access)
        return email, secret, step
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        return list(pool.map(make, range(count)))


class Client:
    """One keep-alive connection, as a browser or wrk holds it (a new connection per request
    would measure the client more than the server)."""

    def __init__(self, base):
        host, port = base.removeprefix("http://").split(":")
        self.conn = http.client.HTTPConnection(host, int(port), timeout=30)

    def post(self, path, body):
        self.conn.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
        response = self.conn.getresponse()
        return response.status, json.loads(response.read() or b"null")


def run_for(seconds, base, one):
    """Calls `one(client)` from CLIENTS threads, each with its own connection, for `seconds`;
    returns (completed per second, errors)."""
    done, errors, lock = [0], [0], threading.Lock()
    deadline = time.time() + seconds

    def client():
        connection = Client(base)
        while time.time() < deadline:
            try:
                ok = one(connection)
            except Exception:
                ok = False
                connection = Client(base)
            with lock:
                if ok is None:
                    return
                if ok:
                    done[0] += 1
                else:
                    errors[0] += 1

    started, cpu = time.time(), resource.getrusage(resource.RUSAGE_SELF)
    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed, after = time.time() - started, resource.getrusage(resource.RUSAGE_SELF)
    # The client runs on the server's cores: say how much of them it took.
    client_cpu = (after.ru_utime + after.ru_stime - cpu.ru_utime - cpu.ru_stime) / elapsed
    return done[0] / elapsed, errors[0], client_cpu


def sliced(seconds, base, one):
    """`run_for` in SLICES slices with an argon2 sample (every core hashing) before the first and
    after each, so each slice is set against the machine's speed at its own moment. On a shared
    host that speed drifts by several percent within a minute (measured: 119 to 132 hashes/s
    between samples minutes apart) and by a third within seconds on a busy day (59 to 87).
    Returns (sign-ins/s over all slices, errors, client CPU, mean argon2 hashes/s, each slice's
    sign-ins/s as a share of the mean of its two samples)."""
    samples = [bench.argon2_sample()[1]]
    done = errors = cpu = 0.0
    ratios = []
    for _ in range(SLICES):
        rate, slice_errors, slice_cpu = run_for(seconds / SLICES, base, one)
        samples.append(bench.argon2_sample()[1])
        ratios.append(rate / ((samples[-2] + samples[-1]) / 2))
        done, errors, cpu = done + rate, errors + slice_errors, cpu + slice_cpu
    return done / SLICES, int(errors), cpu / SLICES, sum(samples) / len(samples), ratios


def signin(label, url, port, workdir, limit):
    proc, base = bench.start(url, port, workdir)
    try:
        _, email, token = bench.seed_tenant(base)
        accounts = enrolled_accounts(base, token, int(limit * SECONDS * 1.3) + 50)
        plain, plain_errors, plain_cpu = run_for(SECONDS, base, lambda c: "access" in c.post("/api/auth/login/", {"email": email, "password": bench.PASSWORD})[1])
        queue = iter(accounts)
        queue_lock = threading.Lock()

        def two_steps(client):
            with queue_lock:
                account = next(queue, None)
            if account is None:
                return None  # every account used: the run ends early
            who, secret, enrolled_at = account
            _, first = client.post("/api/auth/login/", {"email": who, "password": bench.PASSWORD})
            code = totp(secret, max(step_now(), enrolled_at + 1))
            _, second = client.post("/api/auth/login/mfa/", {"mfa_token": first["mfa_token"], "code": code})
            return "access" in second

        with_totp, totp_errors, totp_cpu, around, slices = sliced(SECONDS, base, two_steps)
        return label, plain, plain_errors, with_totp, totp_errors, len(accounts), plain_cpu, totp_cpu, around, slices
    finally:
        bench.stop(proc)


def report(results, limit, parallel):
    """`limit`: cores / one hash alone; `parallel`: hashes/s measured with every core at once."""
    print(f"## Sign-in with TOTP ({CLIENTS} clients with a keep-alive connection each, {SECONDS:.0f} s per row)\n")
    print("| backend | password only (sign-ins/s) | password + TOTP step (sign-ins/s) | TOTP / argon2 limit (cores / one hash) "
          "| TOTP / argon2 measured with every core | TOTP / that measured before, between and after its slices | TOTP / password only "
          f"| TOTP / argon2 around each of {SLICES} slices: median (range) | errors | accounts enrolled | client CPU (password / TOTP) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for label, plain, plain_errors, with_totp, totp_errors, accounts, plain_cpu, totp_cpu, around, slices in results:
        print(f"| {label} | {plain:.0f} | {with_totp:.0f} | {100 * with_totp / limit:.0f}% | {100 * with_totp / parallel:.0f}% "
              f"| {100 * with_totp / around:.0f}% ({around:.0f} hashes/s) | {100 * with_totp / plain:.0f}% "
              f"| {100 * statistics.median(slices):.0f}% ({100 * min(slices):.0f}–{100 * max(slices):.0f}%) | {plain_errors + totp_errors} | {accounts} "
              f"| {100 * plain_cpu:.0f}% / {100 * totp_cpu:.0f}% of a core |")
    print()
