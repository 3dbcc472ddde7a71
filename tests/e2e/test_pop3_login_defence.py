# test_pop3_login_defence - the login defences against floods and guessing
# (issue 5), with real clients and raw sockets: a burst of abandoned
# wrong-password attempts does not stall a legitimate login and is mostly
# never hashed; parallel connections from one address are paced; over the
# bounds the answer is -ERR [SYS/TEMP] at once; stored hashes over the cost
# ceilings are refused at import and never run at login; an imported
# SHA512-CRYPT account is re-hashed to argon2id at its first login.
import base64
import datetime
import os
import poplib
import re
import socket
import sqlite3
import subprocess
import threading
import time

import tern_harness as th

BURST = 1000


def auth_plain(user, password):
    return b"AUTH PLAIN " + base64.b64encode(b"\0" + user.encode() + b"\0" + password.encode())


def flood_address(i):
    """250 source addresses, four attempts each."""
    return "127.1.%d.%d" % (i // 250, i % 250 + 1)


def abandon(port, source, line):
    """Open, send one AUTH, and hang up without waiting for the answer. The
    greeting is read first so that the close is a FIN, not a reset: a reset
    makes the server drop the connection before it even reads the AUTH,
    which would test nothing."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(th.TIMEOUT)
    try:
        s.bind((source, 0))
        s.connect(("127.0.0.1", port))
        s.sendall(line + b"\r\n")
        s.recv(512)
    except OSError:
        pass
    finally:
        s.close()


def burst(port, n, user):
    line = auth_plain(user, "wrong-guess")
    for i in range(n):
        abandon(port, flood_address(i), line)


def timed_login(port, user, password):
    """A poplib session as a mail client polls: login, STAT, QUIT."""
    t0 = time.monotonic()
    p = poplib.POP3("127.0.0.1", port, timeout=th.TIMEOUT * 4)
    p.user(user)
    p.pass_(password)
    p.stat()
    p.quit()
    return time.monotonic() - t0


def log_times(text, what):
    """Timestamps (seconds) of the log lines that contain `what`."""
    out = []
    for line in text.splitlines():
        if what in line:
            stamp = datetime.datetime.strptime(line.split()[0], "%Y-%m-%dT%H:%M:%S.%fZ")
            out.append(stamp.timestamp())
    return out


def test_login_burst_does_not_stall_a_legitimate_login(tern_factory):
    tern = tern_factory({"auth.allow_plaintext_loopback": "yes"})
    srv = tern.start()
    # The legitimate user has logged in before (a polling client): cached.
    assert timed_login(srv.pop3_port, th.USER, th.PASSWORD) < th.TIMEOUT

    flood = threading.Thread(target=burst, args=(srv.pop3_port, BURST, th.USER))
    flood.start()
    time.sleep(0.05)   # the burst is under way
    cached = timed_login(srv.pop3_port, th.USER, th.PASSWORD)
    # Another account, never logged in: its check is hashed, at the high
    # priority of an address without failures.
    uncached = timed_login(srv.pop3_port, th.USER2, th.PASSWORD2)
    flood.join(th.TIMEOUT * 4)
    assert cached < 5 * th.SLOW, "cached login took %.2f s during the burst" % cached
    assert uncached < 5 * th.SLOW, "uncached login took %.2f s during the burst" % uncached

    def settled():
        text = srv.stderr_text()
        done = (text.count('msg="login failed"') + text.count('msg="login dropped"') +
                text.count('msg="login refused"'))
        return text if done >= BURST else None

    text = th.wait_for(settled, timeout=th.TIMEOUT * 4)
    assert text, "not every attempt of the burst was accounted for"
    hashed = text.count('msg="login failed"')
    assert hashed < BURST // 5, "%d of %d abandoned attempts were hashed" % (hashed, BURST)
    # Still answering at once afterwards.
    assert timed_login(srv.pop3_port, th.USER, th.PASSWORD) < 5 * th.SLOW


def test_parallel_connections_from_one_address_are_paced(tern_factory):
    tern = tern_factory({"auth.allow_plaintext_loopback": "yes"})
    srv = tern.start()
    n = 30
    socks, replies = [], [None] * n
    for i in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(th.TIMEOUT)
        s.bind(("127.3.0.1", 0))
        s.connect(("127.0.0.1", srv.pop3_port))
        f = s.makefile("rwb")
        assert f.readline().startswith(b"+OK")
        socks.append((s, f))
    t0 = time.monotonic()
    for i, (s, f) in enumerate(socks):
        f.write(auth_plain("guess%d@localhost" % i, "wrong") + b"\r\n")
        f.flush()

    def reader(i, f):
        try:
            replies[i] = (f.readline(), time.monotonic() - t0)
        except OSError:
            pass

    threads = [threading.Thread(target=reader, args=(i, f)) for i, (s, f) in enumerate(socks)]
    for t in threads:
        t.start()
    time.sleep(1.5)
    for s, f in socks:
        s.shutdown(socket.SHUT_RDWR)
    for t in threads:
        t.join(th.TIMEOUT)
    for s, f in socks:
        f.close()
        s.close()
    answered = [r for r in replies if r is not None and r[0]]
    busy = [r for r in answered if r[0].startswith(b"-ERR [SYS/TEMP]")]
    # attempts_per_ip (8) are admitted; the others are refused at once.
    assert len(busy) == n - 8, answered
    assert all(t < 1.0 * th.SLOW for _, t in busy), busy

    # The admitted ones still waiting for their turn when the client hung
    # up (at 1.5 s) are dropped unhashed.
    def settled():
        text = srv.stderr_text()
        return text if text.count('msg="disconnect"') >= n else None

    text = th.wait_for(settled, timeout=th.TIMEOUT)
    assert text
    hashes = log_times(text, 'msg="login failed"')
    assert hashes
    first = min(hashes)
    # Paced 0, 250, 500, 1000 ms ... as if each earlier attempt had failed:
    # at most 4 hashes in the first second (all 30 without the pacing).
    assert len([t for t in hashes if t - first < 1.0]) <= 4, hashes
    assert text.count('msg="login dropped"') >= 8 - len(hashes) > 0, text


def test_hash_queue_full_is_busy_at_once(tern_factory):
    tern = tern_factory({"auth.allow_plaintext_loopback": "yes", "auth.hash_queue": "1"})
    srv = tern.start()
    n = 12
    conns = []
    for i in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(th.TIMEOUT * 4)
        s.bind(("127.4.0.%d" % (i + 1), 0))
        s.connect(("127.0.0.1", srv.pop3_port))
        f = s.makefile("rwb")
        assert f.readline().startswith(b"+OK")
        conns.append((s, f))
    for i, (s, f) in enumerate(conns):
        f.write(auth_plain("guess%d@localhost" % i, "wrong") + b"\r\n")
        f.flush()
    replies = [f.readline() for s, f in conns]
    for s, f in conns:
        f.close()
        s.close()
    busy = [r for r in replies if r.startswith(b"-ERR [SYS/TEMP]")]
    failed = [r for r in replies if r.startswith(b"-ERR [AUTH]")]
    assert len(busy) + len(failed) == n, replies
    assert busy, replies
    assert 'reason="password check queue full"' in srv.stderr_text()


BLF_31 = "{BLF-CRYPT}$2b$31$" + "abcdefghijklmnopqrstuuabcdefghijklmnopqrstuvwxyz12345"
SHA_HUGE = ("{SHA512-CRYPT}$6$rounds=999999999$saltsalt$"
            "8RWsOfwR6M6PpnoeQiEiWzNTPo1f0HjVYjDnLZhGx16aBFRkeqiHAzfXP/LgrOWMBMXqiU2pLrXsSOHNUyUm91")


def test_costly_hashes_refused_at_import(tern_env):
    tern = tern_env
    for sub in ("add", "passwd"):
        address = "costly@localhost" if sub == "add" else th.USER
        r = tern.cmd("user", sub, address, "--hash", BLF_31, check=False)
        assert r.returncode == 1, r
        assert "bcrypt_cost_max" in r.stderr and "cost 31" in r.stderr, r.stderr
        assert r.stderr.count("\n") == 1, r.stderr
        r = tern.cmd("user", sub, address, "--hash", SHA_HUGE, check=False)
        assert r.returncode == 1, r
        assert "sha512_rounds_max" in r.stderr and "999999999" in r.stderr, r.stderr
    assert "costly@localhost" not in tern.cmd("user", "list").stdout
    # Raising the ceiling is the operator's choice.
    tern.cmd("user", "add", "costly@localhost", "--hash", BLF_31,
             sets={"auth.bcrypt_cost_max": "31"})


def test_costly_stored_hash_never_run_at_login(tern_env):
    tern = tern_env
    # Stored while an operator allowed it; the server runs with the defaults.
    tern.cmd("user", "add", "costly@localhost", "--hash", BLF_31,
             sets={"auth.bcrypt_cost_max": "31"})
    srv = tern.start()
    t0 = time.monotonic()
    p = th.pop_ssl(srv.pop3s_port, login=False)
    p.user("costly@localhost")
    try:
        p.pass_("anything")
        assert False, "logged in"
    except poplib.error_proto as e:
        assert e.args[0].startswith(b"-ERR [AUTH]"), e
    p.quit()
    # A cost-31 bcrypt verification would take hours.
    assert time.monotonic() - t0 < th.TIMEOUT
    text = srv.stderr_text()
    line = [l for l in text.splitlines() if "stored password hash refused" in l]
    assert line and "costly@localhost" in line[0] and "tern user passwd" in line[0], text
    # Other accounts log in, and the server stops promptly.
    th.pop_ssl(srv.pop3s_port).quit()
    rc, secs = srv.terminate()
    assert rc == 0 and secs < th.TIMEOUT


def sha512_crypt(password):
    r = subprocess.run(["openssl", "passwd", "-6", "-stdin"], input=password,
                       capture_output=True, text=True, check=True)
    return r.stdout.strip()


def stored_hash(tern, address):
    con = sqlite3.connect("file:%s?mode=ro" % os.path.join(tern.data_dir, "directory.db"), uri=True)
    try:
        return con.execute("SELECT hash FROM accounts WHERE address = ?", (address,)).fetchone()[0]
    finally:
        con.close()


def test_sha512_account_is_rehashed_at_login(tern_env):
    tern = tern_env
    password = "Imported-Pass-3"
    tern.cmd("user", "add", "old@localhost", "--hash", "{SHA512-CRYPT}" + sha512_crypt(password))
    assert stored_hash(tern, "old@localhost").startswith("{SHA512-CRYPT}$6$")
    # The cache off: every login below really verifies the stored hash.
    srv = tern.start(sets={"auth.cache_ttl": "0"})
    th.pop_ssl(srv.pop3s_port, "old@localhost", password).quit()
    new = stored_hash(tern, "old@localhost")
    assert new.startswith("{ARGON2ID}$argon2id$v=19$m=32768,t=3,p=1$"), new
    assert 'msg="password re-hashed to argon2id" user="old@localhost"' in srv.stderr_text()
    # The new hash verifies the same password, and only that one.
    th.pop_ssl_retry(srv.pop3s_port, "old@localhost", password).quit()
    p = th.pop_ssl(srv.pop3s_port, login=False)
    p.user("old@localhost")
    try:
        p.pass_(password + "x")
        assert False, "logged in with a wrong password"
    except poplib.error_proto as e:
        assert e.args[0].startswith(b"-ERR [AUTH]"), e
    p.quit()
    assert stored_hash(tern, "old@localhost") == new
    assert srv.stderr_text().count("re-hashed") == 1

    # With rehash = no the imported hash stays as it is.
    tern.cmd("user", "add", "kept@localhost", "--hash", "{SHA512-CRYPT}" + sha512_crypt(password))
    srv.terminate()
    srv = tern.start(sets={"auth.cache_ttl": "0", "auth.rehash": "no"})
    th.pop_ssl(srv.pop3s_port, "kept@localhost", password).quit()
    assert stored_hash(tern, "kept@localhost").startswith("{SHA512-CRYPT}")
