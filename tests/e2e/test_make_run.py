# `make run`'s script (scripts/run-demo.sh) on a fresh folder and again on
# the folder it left: the demo account works over pop3 (plain login from
# loopback, as the demo allows) and pop3s, with the welcome message, and
# the second run reuses the same password and mail.
import os
import shutil
import signal
import socket
import subprocess
import tempfile

import pytest

import tern_harness as th

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(TOP, "scripts", "run-demo.sh")
DEMO_PORTS = (2110, 2995)


def port_free(port):
    s = socket.socket()
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def start_demo(var):
    env = dict(os.environ, TERN_BIN=th.TERN_BIN, TERN_DEMO_VAR=var)
    log = open(os.path.join(os.path.dirname(var), "demo.log"), "ab")
    p = subprocess.Popen(["sh", SCRIPT], env=env, stdin=subprocess.DEVNULL,
                         stdout=log, stderr=log, start_new_session=True)
    ok = th.wait_for(lambda: not port_free(2995) or p.poll() is not None, timeout=th.TIMEOUT * 2)
    assert ok and p.poll() is None, open(log.name).read()
    return p, log


def stop_demo(p, log):
    os.killpg(p.pid, signal.SIGTERM)
    assert p.wait(timeout=th.TIMEOUT) == 0
    log.close()


def fetch_all(password):
    import poplib
    out = []
    plain = poplib.POP3("127.0.0.1", 2110, timeout=th.TIMEOUT)
    plain.user("demo@localhost")
    plain.pass_(password)
    out.append(th.retr_all(plain))
    plain.quit()
    tls = poplib.POP3_SSL("127.0.0.1", 2995, timeout=th.TIMEOUT,
                          context=th.tls_client_context())
    tls.user("demo@localhost")
    tls.pass_(password)
    out.append(th.retr_all(tls))
    tls.quit()
    return out


@pytest.mark.skipif(not all(port_free(p) for p in DEMO_PORTS),
                    reason="the demo ports are in use (is make run running?)")
def test_demo_starts_serves_and_restarts(tmp_path):
    parent = tempfile.mkdtemp(prefix="tern-e2e-demo-")
    os.chmod(parent, 0o755)
    var = os.path.join(parent, "var")
    started = []
    try:
        p, log = start_demo(var)
        started.append(p)
        password = open(os.path.join(var, "demo-password")).read().strip()
        assert len(password) >= 8
        first = fetch_all(password)
        assert first[0] == first[1] and len(first[0]) == 1
        assert b"Subject: Welcome to tern" in first[0][0]
        stop_demo(p, log)
        text = open(os.path.join(parent, "demo.log"), "rb").read()
        assert b"demo@localhost" in text and password.encode() in text

        # second run: same folder, same password, same mail
        p, log = start_demo(var)
        started.append(p)
        assert open(os.path.join(var, "demo-password")).read().strip() == password
        assert fetch_all(password) == first
        stop_demo(p, log)
        text = open(os.path.join(parent, "demo.log"), "rb").read().decode(errors="replace")
        assert not th.sanitizer_lines(text), th.sanitizer_lines(text)
    finally:
        for p in started:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
        shutil.rmtree(parent, ignore_errors=True)
