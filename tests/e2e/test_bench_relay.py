# test_bench_relay - `make bench`'s relay part (bench/relay_bench.py) runs
# end to end on a tiny load, so that a change of tern's submission, queue
# or DKIM configuration cannot break it unnoticed (make test does not run
# the bench). B listens on a free port, not on the bench's port 25, so
# this test binds nothing another test or a bench run holds.
import os
import re
import subprocess
import sys

import pytest

import tern_harness as th
from test_bench_smtp import bench_tmp  # noqa: F401 (a fixture)

BENCH = os.path.join(th.REPO, "bench", "relay_bench.py")
NEEDS = ("/usr/sbin/postfix", "/usr/sbin/smtp-sink", "/usr/sbin/dovecot")

pytestmark = [
    pytest.mark.skipif(not th.AS_ROOT, reason="needs root (Postfix's master runs as root)"),
    pytest.mark.skipif(not all(os.path.exists(p) for p in NEEDS),
                       reason="needs postfix and dovecot-core (sh scripts/deps.sh bench)"),
    # as test_bench_smtp: the bench script is checked by the plain run
    pytest.mark.skipif(th.SANITIZED, reason="the bench script is checked by the plain run"),
]


def test_tiny_run_fills_both_columns(bench_tmp):  # noqa: F811
    env = dict(os.environ, TERN_BIN=th.TERN_BIN, TMPDIR=bench_tmp,
               BENCH_RELAY_ACCOUNTS="5", BENCH_RELAY_SESSIONS="1,3", BENCH_RELAY_MESSAGES="10,12",
               BENCH_RELAY_B_PORT=str(th.free_port()), BENCH_RELAY_DRAIN="30", BENCH_RELAY_SETTLE="0", BENCH_DEADLINE="120")
    env.pop("BENCH_KEEP", None)
    p = subprocess.run([sys.executable, BENCH], env=env, capture_output=True, text=True, timeout=180)
    assert p.returncode == 0, p.stdout + p.stderr
    for sessions, messages in ((1, 10), (3, 15)):    # whole rounds of 5 accounts
        m = re.search(r"^%d +(\d+) +(\S+) +(\S+) +(\S+) +2\.0x +(met|MISSED)$" % sessions, p.stdout, re.M)
        assert m, p.stdout
        assert int(m.group(1)) == messages
        assert float(m.group(2)) > 0 and float(m.group(3)) > 0 and float(m.group(4)) > 0
    assert re.search(r"^postfix +peak memory .* 3: \d+\.\d MiB", p.stdout, re.M), p.stdout
