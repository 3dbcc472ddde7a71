# test_bench_smtp - `make bench`'s SMTP part runs end to end on a tiny load
# (so that a change of tern's configuration or store cannot break it
# unnoticed: make test does not run the bench), and a tern that cannot
# serve leaves a table with Postfix's figures and tern's column failed.
import os
import re
import shutil
import subprocess
import sys
import tempfile

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import tern_harness as th  # noqa: E402

BENCH = os.path.join(th.REPO, "bench", "smtp_bench.py")
NEEDS = ("/usr/sbin/postfix", "/usr/sbin/smtp-source", "/usr/sbin/smtp-sink")

pytestmark = [
    pytest.mark.skipif(not th.AS_ROOT, reason="needs root (Postfix's master runs as root)"),
    pytest.mark.skipif(not all(os.path.exists(p) for p in NEEDS),
                       reason="needs postfix (sh scripts/deps.sh bench)"),
    # What this checks is the bench script working with tern and Postfix,
    # which the plain run (make e2e) covers; under the sanitizers the second
    # test runs no tern at all (a fake one), and the first is an SMTP load
    # whose paths test_smtp_load and test_smtp_kill already drive under
    # ASan: 30 s of make e2e-asan for no sanitizer finding.
    pytest.mark.skipif(th.SANITIZED, reason="the bench script is checked by the plain run"),
]

TINY = {
    "BENCH_SMTP_ACCOUNTS": "5",
    "BENCH_SMTP_SESSIONS": "1,3",
    "BENCH_SMTP_MESSAGES": "10,15",
    "BENCH_DISK_SECONDS": "0.2",
    "BENCH_SMTP_DRAIN": str(int(30 * th.SLOW)),
    "BENCH_DEADLINE": str(int(240 * th.SLOW)),
}


@pytest.fixture
def bench_tmp():
    """TMPDIR for the bench: a folder the servers' users (postfix, nobody)
    can pass through, as /tmp itself; the bench must leave it empty."""
    d = tempfile.mkdtemp(prefix="tern-e2e-bench-")
    os.chmod(d, 0o755)
    yield d
    left = os.listdir(d)
    shutil.rmtree(d, ignore_errors=True)
    assert not left, "the bench left %s behind" % left


def run_bench(tern_bin, tmpdir):
    env = dict(os.environ, TERN_BIN=tern_bin, TMPDIR=tmpdir, **TINY)
    env.pop("BENCH_KEEP", None)
    return subprocess.run([sys.executable, BENCH], env=env, capture_output=True, text=True,
                          timeout=300 * th.SLOW)


def table_row(out, sessions):
    """The table's row for `sessions`: (messages, tern, postfix, ratio, rest)."""
    m = re.search(r"^%d +(\d+) +(\S+) +(\S+) +(\S+) +(.*)$" % sessions, out, re.M)
    assert m, out
    return m.groups()


def test_tiny_run_fills_both_columns(bench_tmp):
    p = run_bench(th.TERN_BIN, bench_tmp)
    assert p.returncode == 0, p.stdout + p.stderr
    for sessions, messages in ((1, 10), (3, 15)):
        sent, tern, postfix, ratio, rest = table_row(p.stdout, sessions)
        # rounded up to whole smtp-source runs of one message per account
        assert int(sent) == -(-messages // (5 * sessions)) * 5 * sessions
        assert float(tern) > 0 and float(postfix) > 0 and float(ratio) > 0
    assert "MISSED" in p.stdout or " met" in p.stdout
    assert re.search(r"^tern +memory per session at 3 sessions: \d+ KiB", p.stdout, re.M), p.stdout
    assert re.search(r"fsyncs/s .* new durable files/s", p.stdout), p.stdout


def test_tern_that_cannot_serve_fails_its_column_only(bench_tmp, tmp_path):
    fake = tmp_path / "tern"
    fake.write_text("#!/bin/sh\necho 'tern: no SMTP here' >&2\nexit 1\n")
    fake.chmod(0o755)
    p = run_bench(str(fake), bench_tmp)
    assert p.returncode == 1, p.stdout + p.stderr
    sent, tern, postfix, ratio, rest = table_row(p.stdout, 1)
    assert tern == "failed" and float(postfix) > 0 and ratio == "-"
    assert "missed" in rest
    assert "tern FAILED: tern domain add bench.test: exit 1: tern: no SMTP here" in p.stdout
