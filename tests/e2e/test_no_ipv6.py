# A host without IPv6: "localhost:PORT" (and "*:PORT") listen on IPv4
# alone with a warning, while an explicit IPv6 address is still an error.
# Runs `tern serve` in a network namespace of its own whose loopback has
# IPv6 turned off (needs root, as CI has).
import os
import shutil
import subprocess
import tempfile

import pytest

import tern_harness as th

SETUP = ("ip link set lo up && echo 1 > /proc/sys/net/ipv6/conf/lo/disable_ipv6 && "
         "echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6 && ")


def netns_available():
    if not th.AS_ROOT or not shutil.which("unshare") or not shutil.which("ip"):
        return False
    p = subprocess.run(["unshare", "-n", "true"], capture_output=True)
    return p.returncode == 0


pytestmark = pytest.mark.skipif(not netns_available(),
                                reason="needs root and unshare -n (a network namespace)")


def serve_in_netns(listen, script_tail):
    """Run tern serve with listen.pop3=LISTEN in a fresh namespace without
    IPv6, then `script_tail` (shell) in the same namespace."""
    top = tempfile.mkdtemp(prefix="tern-e2e-noipv6-")
    os.chmod(top, 0o711)  # tern creates (and gives nobody) the data folder inside
    try:
        sets = []
        for k, v in (("server.data_dir", os.path.join(top, "data")), ("server.user", "nobody"),
                     ("server.shutdown_timeout", "1"), ("server.public_dir", ""),
                     ("listen.pop3", listen),
                     ("listen.pop3s", ""), ("listen.smtp", ""), ("listen.submission", ""),
                     ("listen.submissions", ""), ("listen.imap", ""), ("listen.imaps", "")):
            sets.append("--set '%s=%s'" % (k, v))
        script = SETUP + "%s serve %s 2>&1 & pid=$!; %s; kill $pid; wait $pid" % (
            th.TERN_BIN, " ".join(sets), script_tail)
        return subprocess.run(["unshare", "-n", "sh", "-c", script], capture_output=True,
                              timeout=th.TIMEOUT * 2)
    finally:
        shutil.rmtree(top, ignore_errors=True)


def test_localhost_falls_back_to_ipv4_when_ipv6_is_off():
    client = ("/usr/bin/python3 -c \"import socket,time\n"
              "for i in range(100):\n"
              "    try:\n"
              "        s=socket.create_connection(('127.0.0.1',1110),timeout=5); break\n"
              "    except OSError: time.sleep(0.1)\n"
              "print('GREETING', s.recv(100))\"")
    p = serve_in_netns("localhost:1110", client)
    out = p.stdout.decode(errors="replace")
    assert 'msg="IPv6 unavailable, not listening" service=pop3 addr=[::1]:1110' in out, out
    assert 'listen="pop3=127.0.0.1:1110"' in out, out
    assert "GREETING b'+OK" in out, out


def test_explicit_ipv6_address_is_still_an_error():
    p = serve_in_netns("[::1]:1110", "sleep 1")
    out = p.stdout.decode(errors="replace")
    assert "pop3: cannot listen on [::1]:1110" in out, out
    assert 'msg="ready"' not in out, out
