"""Times `bulk-create-tenants` (see .ci/bench-provision)."""
import os
import re
import subprocess
import sys
import tempfile
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402  (scratch_database)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "tenantry-server")
PG = os.environ.get("TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")


def csv_file(workdir, rows):
    path = os.path.join(workdir, f"tenants-{rows}.csv")
    with open(path, "w") as f:
        f.write("name,subdomain,plan,owner_email,contact_email,max_users,max_assets,max_devices,storage_quota_gb,custom_domain\n")
        for i in range(rows):
            f.write(f"Bench Tenant {i},bench-{i},basic,owner{i}@bench{i}.test,billing@bench{i}.test,20,,,,\n")
    return path


def run(database_url, args, workdir):
    env = dict(os.environ, DATABASE_URL=database_url, SECRET_KEY="bench-secret-key-that-is-long-enough-for-hs256",
               RUST_LOG="warn", EMAIL_PROVIDER="log", RATE_LIMIT_DISABLED="1")
    proc = subprocess.run(["/usr/bin/time", "-v", BIN, *args], env=env, cwd=workdir, capture_output=True, text=True)
    wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):(\d+(?:\.\d+)?)", proc.stderr)
    h, m, s = wall.groups()
    seconds = int(h or 0) * 3600 + int(m) * 60 + float(s)
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr).group(1)) / 1024
    summary = re.search(r"Successful: (\d+)", proc.stdout)
    return seconds, rss, summary.group(1) if summary else "?", proc.returncode


def fresh(backend, workdir):
    if backend == "sqlite":
        return f"sqlite://{workdir}/bench-{uuid.uuid4().hex[:8]}.sqlite?mode=rwc"
    return bench.scratch_database(PG)


def main():
    print("| backend | rows | run | wall s | rows/s | peak RSS MB | successful |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as workdir:
        for backend in ["sqlite", "postgres"]:
            for rows in [2000, 10000]:
                path = csv_file(workdir, rows)
                url = fresh(backend, workdir)
                subprocess.run([BIN, "migrate"], env=dict(os.environ, DATABASE_URL=url, RUST_LOG="warn"), capture_output=True, check=True)
                for label, extra in [("dry run", ["--dry-run"]), ("create", []), ("re-run (exists)", [])]:
                    seconds, rss, ok, code = run(url, ["bulk-create-tenants", path, "--concurrency", "4", *extra], workdir)
                    print(f"| {backend} | {rows} | {label} | {seconds:.1f} | {rows / seconds:.0f} | {rss:.0f} | {ok} (exit {code}) |", flush=True)


if __name__ == "__main__":
    main()
