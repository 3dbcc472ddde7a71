# `make run`'s script (scripts/run-demo.sh) on a fresh folder and again on
# the folder it left: the demo account works over pop3 and imap (plain
# login from loopback, as the demo allows), pop3s and imaps, with the
# welcome message, mail
# sent to it on the smtp and submission ports arrives, and the second run
# reuses the same password and mail. Two clones each get a
# data folder of their own (also when, run as root, neither can be entered
# by the tern user and the data goes below /var/lib), and a run on a
# half-made folder (password or configuration lost) still starts, with the
# password it prints.
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
DEMO_PORTS = (2110, 2995, 2525, 2587, 2465, 2143, 2993)


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


@pytest.fixture
def demo_ports():
    """The demo's fixed ports, held for the test: the same test of another
    run on this machine (another clone's make test) waits its turn rather
    than both starting a demo on them."""
    with th.exclusive("demo-ports"):
        if not all(port_free(p) for p in DEMO_PORTS):
            pytest.skip("the demo ports are in use (is make run running?)")
        yield


def start_demo(var, fallback=None):
    env = dict(os.environ, TERN_BIN=th.TERN_BIN, TERN_DEMO_VAR=var)
    if fallback:
        env["TERN_DEMO_FALLBACK"] = fallback
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


def send_demo_mail(password):
    import smtplib
    s = smtplib.SMTP("127.0.0.1", 2525, timeout=th.TIMEOUT)
    s.sendmail("you@example.org", ["demo@localhost"], b"Subject: by smtp\r\n\r\nHi!\r\n")
    s.quit()
    # submission: the demo allows a plain AUTH from this machine
    s = smtplib.SMTP("127.0.0.1", 2587, timeout=th.TIMEOUT)
    s.login("demo@localhost", password)
    s.sendmail("demo@localhost", ["demo@localhost"], b"Subject: by submission\r\n\r\nHi!\r\n")
    s.quit()


def fetch_count(password, count):
    """fetch_all once `count` messages are there (local delivery follows
    the 250 at once, but on the thread pool)."""
    def full():
        mail = fetch_all(password)
        return mail if len(mail[0]) == count and mail[0] == mail[1] else None
    mail = th.wait_for(full)
    assert mail, "not %d messages in the INBOX" % count
    return mail


def imap_counts(password):
    """INBOX's message count over imap (LOGIN without TLS, as the demo
    allows from loopback) and imaps."""
    import imaplib
    counts = []
    for m in (imaplib.IMAP4("127.0.0.1", 2143, timeout=th.TIMEOUT),
              imaplib.IMAP4_SSL("127.0.0.1", 2993, ssl_context=th.tls_client_context(),
                                timeout=th.TIMEOUT)):
        m.login("demo@localhost", password)
        typ, data = m.status("INBOX", "(MESSAGES)")
        assert typ == "OK", data
        counts.append(int(data[0].split(b"MESSAGES ")[1].rstrip(b")")))
        m.logout()
    return counts


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


def test_demo_starts_serves_and_restarts(tmp_path, demo_ports):
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
        # the ways the demo prints to send demo@localhost a message
        send_demo_mail(password)
        first = fetch_count(password, 3)
        assert b"Subject: by smtp" in first[0][1] and b"Subject: by submission" in first[0][2]
        assert imap_counts(password) == [3, 3]
        # the curl line it prints reads the welcome message
        curl = subprocess.run(["curl", "-sS", "-k", "imaps://127.0.0.1:2993/INBOX/;UID=1",
                               "-u", "demo@localhost:" + password],
                              capture_output=True, timeout=th.TIMEOUT)
        assert b"Subject: Welcome to tern" in curl.stdout, curl
        stop_demo(p, log)
        text = open(os.path.join(parent, "demo.log"), "rb").read()
        assert b"demo@localhost" in text and password.encode() in text
        # how to read it with curl and with a mail program
        assert b"imaps://127.0.0.1:2993/" in text and b"Thunderbird" in text
        assert b"port 2993, SSL/TLS" in text

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


def demo_data_dir(var):
    for line in open(os.path.join(var, "tern.conf")):
        if line.startswith("data_dir = "):
            return line.split("=", 1)[1].strip()
    raise AssertionError("no data_dir in tern.conf")


def run_once(var, fallback):
    """Start the demo on var, fetch its mail with the password it printed,
    stop it; returns (password, mail)."""
    p, log = start_demo(var, fallback)
    try:
        password = open(os.path.join(var, "demo-password")).read().strip()
        mail = fetch_all(password)
        assert mail[0] == mail[1]
    finally:
        stop_demo(p, log)
    text = open(log.name, "rb").read().decode(errors="replace")
    assert "password       %s" % password in text.rsplit("tern demo", 1)[1]
    return password, mail[0]


def test_two_clones_and_half_made_folders(demo_ports):
    top = tempfile.mkdtemp(prefix="tern-e2e-clones-")
    os.chmod(top, 0o711)
    fallback = os.path.join(top, "lib", "tern-demo")
    os.mkdir(os.path.dirname(fallback), 0o711)
    clones = []
    try:
        for name in ("one", "two"):
            # like a clone in /root: a folder the tern user cannot enter
            parent = os.path.join(top, name)
            os.mkdir(parent, 0o700)
            clones.append(os.path.join(parent, "var"))
        first = [run_once(var, fallback) for var in clones]
        for password, mail in first:
            assert len(mail) == 1 and b"Subject: Welcome to tern" in mail[0]
        data = [demo_data_dir(var) for var in clones]
        assert data[0] != data[1]
        if th.AS_ROOT:
            for d in data:
                assert os.path.dirname(d) == fallback, d
        else:
            assert data == [os.path.join(var, "data") for var in clones]

        # the password file lost: a new one is made, printed and set;
        # the account and its mail stay
        os.unlink(os.path.join(clones[0], "demo-password"))
        password, mail = run_once(clones[0], fallback)
        assert password != first[0][0] and mail == first[0][1]

        # the configuration lost too: written again for the same data
        os.unlink(os.path.join(clones[1], "demo-password"))
        os.unlink(os.path.join(clones[1], "tern.conf"))
        password, mail = run_once(clones[1], fallback)
        assert demo_data_dir(clones[1]) == data[1]
        assert mail == first[1][1]
    finally:
        shutil.rmtree(top, ignore_errors=True)
