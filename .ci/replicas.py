"""Three replicas on one PostgreSQL behind HAProxy (started by .ci/replicas): what a
multi-replica deployment must keep. Each check prints one line; any failure exits non-zero.

- a token and a browser session issued by one replica work on every other;
- the sign-in limits are shared: 30 attempts a minute per address across all replicas, and
  10 wrong passwords per account and address;
- a role change made through one replica applies on the next request to another;
- every e-mail is sent exactly once although each replica runs a mail worker;
- kill -9 of one replica during a mixed load: the load balancer's retries keep the client
  error rate under 0.1 %, and no write the client saw succeed is lost.
"""

import http.client
import json
import os
import signal
import sys
import threading
import time
import urllib.parse

LB = int(os.environ["TENANTRY_LB_PORT"])
REPLICAS = [int(os.environ[f"TENANTRY_R{n}_PORT"]) for n in (1, 2, 3)]
PIDS = [int(p) for p in os.environ["TENANTRY_REPLICA_PIDS"].split()]
MAILDIR = os.environ["TENANTRY_MAILDIR"]
PASSWORD = "correct horse battery"


class Reply:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def json(self):
        return json.loads(self.body or b"null")


def call(port, method, path, body=None, token=None, client=None, headers=None, form=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    sent = dict(headers or {})
    payload = None
    if body is not None:
        payload = json.dumps(body)
        sent["content-type"] = "application/json"
    if form is not None:
        payload = urllib.parse.urlencode(form)
        sent["content-type"] = "application/x-www-form-urlencoded"
    if token:
        sent["authorization"] = f"Bearer {token}"
    if client:
        # The replicas trust 127.0.0.1 as a proxy, so this is the address they count.
        sent["x-forwarded-for"] = client
    try:
        conn.request(method, path, body=payload, headers=sent)
        response = conn.getresponse()
        return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
    finally:
        conn.close()


def check(condition, what):
    if not condition:
        print(f"FAIL  {what}", flush=True)
        sys.exit(1)
    print(f"ok    {what}", flush=True)


def sign_up(name, client):
    email = f"admin@{name.lower()}.test"
    reply = call(LB, "POST", "/api/tenants/", {"name": name, "admin_email": email, "admin_password": PASSWORD}, client=client)
    assert reply.status == 201, (reply.status, reply.body)
    return reply.json(), email


def login(port, email, client, password=PASSWORD):
    return call(port, "POST", "/api/auth/login/", {"email": email, "password": password}, client=client)


def mails():
    """Recipients of every message the SMTP sink accepted, one entry per message."""
    found = []
    for sub in ("new", "cur"):
        folder = os.path.join(MAILDIR, sub)
        for name in os.listdir(folder) if os.path.isdir(folder) else []:
            with open(os.path.join(folder, name), "rb") as f:
                for line in f.read().decode("utf-8", "replace").splitlines():
                    if line.lower().startswith("to:"):
                        found.append(line.split(":", 1)[1].strip().lower())
                        break
    return found


def tokens_and_sessions_work_on_every_replica():
    tenant, email = sign_up("Acme", "198.51.100.1")
    reply = login(REPLICAS[0], email, "198.51.100.1")
    check(reply.status == 200, "a replica signs in")
    access, refresh = reply.json()["access"], reply.json()["refresh"]
    for port in REPLICAS[1:]:
        check(call(port, "GET", "/api/me/", token=access).status == 200, f"its access token works on the replica at :{port}")
    rotated = call(REPLICAS[2], "POST", "/api/auth/refresh/", {"refresh": refresh}, client="198.51.100.1")
    check(rotated.status == 200, "its refresh token works on the third replica")
    check(call(REPLICAS[1], "POST", "/api/auth/refresh/", {"refresh": refresh}, client="198.51.100.1").status == 401,
          "and once spent it is refused by every other")
    origin = f"http://127.0.0.1:{REPLICAS[0]}"
    form = call(REPLICAS[0], "POST", "/fn/log-in", form={"email": email, "password": PASSWORD}, client="198.51.100.1",
                headers={"accept": "text/html", "referer": f"{origin}/login", "origin": origin})
    cookie = form.headers.get("set-cookie", "").split(";")[0]
    check(form.status == 302 and cookie.startswith("tenantry_session="), "the login form of one replica opens a browser session")
    for port in REPLICAS[1:]:
        me = call(port, "GET", "/api/me/", headers={"cookie": cookie})
        check(me.status == 200 and me.json()["user"]["email"] == email, f"the session is signed in on the replica at :{port}")
        page = call(port, "GET", "/", headers={"cookie": cookie, "accept": "text/html"})
        check(page.status == 200 and email.encode() in page.body, f"and its member list shows there (:{port} /)")
    return tenant, email, access


def sign_in_limits_are_shared():
    # 30 attempts a minute per client address, counted by all three replicas together.
    statuses = [login(REPLICAS[n % 3], f"nobody{n}@nowhere.test", "203.0.113.50").status for n in range(31)]
    check(all(s == 401 for s in statuses[:30]), "30 sign-in attempts from one address, spread over three replicas, are answered")
    check(statuses[30] == 429, f"the 31st is refused with 429 whichever replica gets it (got {statuses[30]})")
    # 10 wrong passwords a minute per account and address.
    _, email = sign_up("Globex", "198.51.100.2")
    statuses = [login(REPLICAS[n % 3], email, "203.0.113.51", password="wrong password").status for n in range(11)]
    check(all(s == 401 for s in statuses[:10]) and statuses[10] == 429, f"the 11th wrong password for one account is refused across replicas ({statuses})")
    check(login(REPLICAS[1], email, "203.0.113.52").status == 200, "the owner signs in from another address")


def role_changes_apply_on_the_next_request_everywhere(access):
    member = call(LB, "POST", "/api/users/", {"email": "mia@acme.test", "password": PASSWORD}, token=access)
    check(member.status == 201, "an admin adds a member through the load balancer")
    mia = login(REPLICAS[1], "mia@acme.test", "198.51.100.3").json()["access"]
    invite = {"email": "first@acme.test", "role": "VIEWER"}
    check(call(REPLICAS[2], "POST", "/api/users/invite/", invite, token=mia).status == 403, "a member without a role cannot invite")
    assign = call(REPLICAS[0], "POST", "/api/roles/assign/", {"user": member.json()["id"], "role": "ADMIN"}, token=access)
    check(assign.status == 201, "the admin makes her an ADMIN through the first replica")
    check(call(REPLICAS[2], "POST", "/api/users/invite/", invite, token=mia).status == 201, "her next request to the third replica may invite")


def every_mail_is_sent_once(access):
    before = len(mails())
    emails = [f"guest{n}@acme.test" for n in range(40)]
    for email in emails:
        reply = call(LB, "POST", "/api/users/invite/", {"email": email, "role": "VIEWER"}, token=access)
        assert reply.status == 201, (reply.status, reply.body)
    deadline = time.time() + 30
    while time.time() < deadline and len([m for m in mails() if m in emails]) < 40:
        time.sleep(0.2)
    time.sleep(3)  # long enough for a second delivery by another worker to show up
    got = [m for m in mails() if m in emails]
    check(sorted(got) == sorted(emails), f"40 invitations through three replicas' mail workers: 40 mails, one each ({len(got)} received)")
    return len(mails()) - before


def a_killed_replica_loses_no_write(access):
    results = []  # (kind, status, email)
    lock = threading.Lock()
    stop = time.time() + 8

    def worker(n):
        i = 0
        while time.time() < stop:
            i += 1
            if i % 4 == 0:
                email = f"load{n}-{i}@acme.test"
                try:
                    status = call(LB, "POST", "/api/users/invite/", {"email": email, "role": "VIEWER"}, token=access).status
                except OSError as e:
                    status = f"error {e}"
                kind = "write"
            else:
                email = None
                try:
                    status = call(LB, "GET", "/api/users/", token=access).status
                except OSError as e:
                    status = f"error {e}"
                kind = "read"
            with lock:
                results.append((kind, status, email))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    time.sleep(3)
    os.kill(PIDS[1], signal.SIGKILL)
    for t in threads:
        t.join()
    total = len(results)
    failed = [r for r in results if not (r[1] == 200 or r[1] == 201)]
    rate = len(failed) / max(total, 1)
    check(total > 500, f"mixed load through the load balancer: {total} requests, one replica killed with SIGKILL after 3 s")
    check(rate < 0.001, f"client error rate {rate:.4%} (< 0.1%): {failed[:5]}")
    written = {r[2] for r in results if r[0] == "write" and r[1] == 201}
    pending = set()
    page = 1
    while True:
        reply = call(REPLICAS[0], "GET", f"/api/invitations/?status=pending&page={page}", token=access)
        body = reply.json()
        pending.update(i["email"] for i in body["results"])
        if not body.get("next"):
            break
        page += 1
    lost = written - pending
    check(not lost, f"every invitation the client saw created is there ({len(written)} written, {len(lost)} lost)")


def main():
    _, _, access = tokens_and_sessions_work_on_every_replica()
    sign_in_limits_are_shared()
    role_changes_apply_on_the_next_request_everywhere(access)
    every_mail_is_sent_once(access)
    a_killed_replica_loses_no_write(access)
    print("all replica checks passed", flush=True)


if __name__ == "__main__":
    main()
