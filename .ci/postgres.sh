# Sourced by .ci/test: makes sure a PostgreSQL server answers and exports TEST_POSTGRES_URL.
# Uses the one on 127.0.0.1:5432 (starting the machine's cluster if it is stopped), or else
# starts a throwaway cluster under .tools/pg on port 55432.

ensure_postgres() {
  if [ -n "${TEST_POSTGRES_URL:-}" ]; then return; fi
  export TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:5432/postgres"
  if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then return; fi
  if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
    say "starting the local PostgreSQL cluster"
    for version in $(ls /etc/postgresql); do
      pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null || true
    done
    for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && return; sleep 0.5; done
  fi
  local bindir
  bindir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
  if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
    echo "PostgreSQL is not running on 127.0.0.1:5432 and no PostgreSQL binaries were found." >&2
    echo "Install PostgreSQL (e.g. apt-get install postgresql) or set TEST_POSTGRES_URL." >&2
    exit 1
  fi
  say "starting a throwaway PostgreSQL cluster in .tools/pg (port 55432)"
  local data="$TOOLS/pg"
  local as=()
  if [ "$(id -u)" = 0 ]; then as=(runuser -u postgres --); fi
  rm -rf "$data"; mkdir -p "$data"
  [ "$(id -u)" = 0 ] && chown postgres "$data"
  "${as[@]}" "$bindir/initdb" -D "$data" -U postgres --auth=trust >/dev/null
  "${as[@]}" "$bindir/pg_ctl" -D "$data" -o "-p 55432 -k /tmp -c listen_addresses=127.0.0.1" -l "$data/log" -w start >/dev/null
  export TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:55432/postgres"
}

# Drops databases earlier test runs left behind.
drop_old_test_databases() {
  local url="$TEST_POSTGRES_URL"
  psql "$url" -qAt -c "SELECT datname FROM pg_database WHERE datname LIKE 'tenantry_test_%'" 2>/dev/null |
    while read -r name; do psql "$url" -q -c "DROP DATABASE IF EXISTS \"$name\"" >/dev/null 2>&1 || true; done
}
