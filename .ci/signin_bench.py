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
import os
import re
import resource
import statistics
import struct
import subprocess
import sys
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


CLIENT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "signin_client.lua")


def run_for(seconds, base, *args):
    """Sign-ins by wrk (`signin_client.lua` with `args`) from CLIENTS threads, one keep-alive
    connection each, as a browser holds one, for `seconds`; returns (sign-ins completed per
    second, errors, the client's CPU in cores). wrk rather than Python threads: the client runs
    on the server's cores, and a Python client took 11% of a core at this rate."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(["wrk", f"-t{CLIENTS}", f"-c{CLIENTS}", f"-d{max(1, round(seconds))}s", "-s", CLIENT, base, "--", *args],
                         capture_output=True, text=True, check=True).stdout
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    ok, errors, exhausted, micros = (int(n) for n in re.search(r"^signins (\d+) (\d+) (\d+) (\d+)$", out, re.M).groups())
    if exhausted:
        sys.stderr.write("the sign-in run used every enrolled account before its end; its rate counts the sign-ins made\n")
    elapsed = micros / 1e6
    client_cpu = (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) / elapsed
    return ok / elapsed, errors, client_cpu


def accounts_file(workdir, accounts, name):
    """The accounts of one run of the TOTP client as a Lua table, each with its codes for the
    steps the run can reach: from the step after its enrolment's (that code is spent) or the
    current one, whichever is later, four steps (two minutes) on."""
    path = os.path.join(workdir, name)
    with open(path, "w") as out:
        out.write(f"return {{ threads = {CLIENTS}, accounts = {{\n")
        for email, secret, enrolled_at in accounts:
            first = max(step_now(), enrolled_at + 1)
            codes = ", ".join(f'"{totp(secret, first + k)}"' for k in range(4))
            out.write(f'  {{ email = "{email}", first = {first}, codes = {{ {codes} }} }},\n')
        out.write("} }\n")
    return path


def sliced(seconds, base, slice_args):
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
        rate, slice_errors, slice_cpu = run_for(seconds / SLICES, base, *slice_args(len(ratios)))
        samples.append(bench.argon2_sample()[1])
        ratios.append(rate / ((samples[-2] + samples[-1]) / 2))
        done, errors, cpu = done + rate, errors + slice_errors, cpu + slice_cpu
    return done / SLICES, int(errors), cpu / SLICES, sum(samples) / len(samples), ratios


def signin(label, url, port, workdir, limit):
    proc, base = bench.start(url, port, workdir)
    try:
        _, email, token = bench.seed_tenant(base)
        accounts = enrolled_accounts(base, token, int(limit * SECONDS * 1.3) + 50)
        plain, plain_errors, plain_cpu = run_for(SECONDS, base, "password", email, bench.PASSWORD)
        # Each slice gets accounts of its own: a TOTP code works once per step and account.
        per_slice = len(accounts) // SLICES
        def slice_args(n):
            path = accounts_file(workdir, accounts[n * per_slice:(n + 1) * per_slice], f"accounts-{port}-{n}.lua")
            return "totp", path, bench.PASSWORD

        with_totp, totp_errors, totp_cpu, around, slices = sliced(SECONDS, base, slice_args)
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
