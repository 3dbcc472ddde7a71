# test_pop3_limits - limits that protect other users: a burst of wrong
# passwords from many connections does not hold up a good user's session
# (password checks are capped on the thread pool and paced per address),
# and a client over the connection limit is told why (RFC 3206 4 SYS/TEMP).
import base64
import socket
import threading
import time

import tern_harness as th

ATTACKERS = 40


def attacker_ip(i):
    """Each attacker connects from its own loopback address and guesses its
    own account, so that every guess is hashed at once (no pacing): the
    burst is what the cap on password jobs must absorb."""
    return "127.0.0.%d" % (2 + i)


def attacker(port, results, i):
    try:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.settimeout(th.TIMEOUT * 4)
        sock.bind((attacker_ip(i), 0))
        sock.connect(("127.0.0.1", port))
        f = sock.makefile("rwb")
        assert f.readline().startswith(b"+OK")
        token = base64.b64encode(b"\0guess-%d@localhost\0wrong" % i)
        f.write(b"AUTH PLAIN " + token + b"\r\n")
        f.flush()
        results[i] = f.readline()
        sock.close()
    except Exception as e:  # reported by the main thread
        results[i] = repr(e).encode()


def test_wrong_password_burst_does_not_slow_others(tern_factory):
    tern = tern_factory({"auth.allow_plaintext_loopback": "yes"})
    [msg] = tern.import_mbox(th.USER2, [th.make_message(1)])
    srv = tern.start()
    # What one good session with a full hash costs on this machine now
    # (demo@ is not in the login cache yet, nor is demo2@ after it), other
    # test files running beside this one included. The good user's check
    # waits its turn behind the guesses (their addresses have no failures
    # yet either), each a full hash on half the pool's threads, so the
    # bound below scales with it; a guess that held a hash slot or the
    # loop longer than its hash would still take far longer.
    t0 = time.monotonic()
    raw = th.Raw(srv.pop3_port)
    assert raw.readline().startswith(b"+OK")
    raw.login(th.USER, th.PASSWORD)
    assert raw.cmd("QUIT").startswith(b"+OK")
    one_session = time.monotonic() - t0
    raw.close()

    results = [None] * ATTACKERS
    threads = [threading.Thread(target=attacker, args=(srv.pop3_port, results, i))
               for i in range(ATTACKERS)]
    for t in threads:
        t.start()
    time.sleep(0.1)   # the burst is under way

    t0 = time.monotonic()
    raw = th.Raw(srv.pop3_port, timeout=th.TIMEOUT * 4)  # the bound decides
    assert raw.readline().startswith(b"+OK")
    raw.login(th.USER2, th.PASSWORD2)
    assert raw.cmd_multi("RETR 1") == msg.splitlines(keepends=True)
    assert raw.cmd("QUIT").startswith(b"+OK")
    elapsed = time.monotonic() - t0
    raw.close()
    bound = max(10 * th.SLOW, 2 * ATTACKERS * one_session)
    assert elapsed < bound, "good user's session took %.1f s (alone: %.1f s)" % (
        elapsed, one_session)

    for t in threads:
        t.join(th.TIMEOUT * 4)
    for r in results:
        assert r is not None and r.startswith(b"-ERR [AUTH]"), r


def test_busy_reply_over_the_per_address_limit(tern_factory):
    tern = tern_factory({"limits.connections_per_ip": "2"})
    srv = tern.start()
    a = th.Raw(srv.pop3_port)
    b = th.Raw(srv.pop3_port)
    assert a.readline().startswith(b"+OK")
    assert b.readline().startswith(b"+OK")
    c = th.Raw(srv.pop3_port)
    assert c.readline().startswith(b"-ERR [SYS/TEMP]")
    assert c.is_closed()
    c.close()
    # On the implicit-TLS port, no plaintext line: just closed.
    d = socket.create_connection(("127.0.0.1", srv.pop3s_port), timeout=th.TIMEOUT)
    assert d.recv(100) == b""
    d.close()
    a.close()
    b.close()
    assert th.wait_for(lambda: "connection refused" in srv.stderr_text())
