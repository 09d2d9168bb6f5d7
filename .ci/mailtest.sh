# Sourced by .ci/test (and usable by hand: `source .ci/mailtest.sh`): the real mail servers the
# e-mail tests start, aiosmtpd (SMTP) and moto's server mode (SES v2), and the Standard Webhooks
# reference implementation the webhook tests' receiver verifies signatures with
# (standardwebhooks), installed from PyPI into a virtualenv under .tools/py when missing.
# Exports TENANTRY_PYTHON for the tests.
MAILTEST_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MAILTEST_VENV="$MAILTEST_ROOT/.tools/py"

ensure_mail_test_servers() {
  local python="$MAILTEST_VENV/bin/python"
  if [ -x "$python" ] && "$python" -c 'import aiosmtpd, moto.server, flask_cors, standardwebhooks' >/dev/null 2>&1; then
    export TENANTRY_PYTHON="$python"
    return 0
  fi
  command -v python3 >/dev/null || { echo "python3 is required for the e-mail tests (aiosmtpd, moto)" >&2; return 1; }
  printf '\033[1m==> %s\033[0m\n' "installing aiosmtpd, moto[server] and standardwebhooks into .tools/py" >&2
  mkdir -p "$MAILTEST_ROOT/.tools"
  [ -x "$python" ] || python3 -m venv "$MAILTEST_VENV"
  "$python" -m pip install --quiet --disable-pip-version-check 'aiosmtpd>=1.4,<2' 'moto[server]>=5.2,<5.3' 'standardwebhooks>=1.3,<2'
  export TENANTRY_PYTHON="$python"
}

ensure_mail_test_servers
