# test_pop3_robust - POP3 under conditions real clients create: pipelining
# (RFC 2449 6.6), a 20 MB message, a client that reads slowly while another
# works, idle timeout, overlong lines, bad commands, too many errors.
import base64
import hashlib
import time

import pytest

import tern_harness as th


def auth_plain(user=th.USER, password=th.PASSWORD):
    return b"AUTH PLAIN " + base64.b64encode(b"\0" + user.encode() + b"\0" + password.encode())


def test_pipelining_responses_in_order(pop3_server):
    tern, srv = pop3_server
    msgs = [th.make_message(i, extra_lines=i * 20) for i in range(1, 4)]
    msgs[1] = th.make_message(2, body=b"a\n.\n..dots\nz\n")
    stored = tern.import_mbox(th.USER, msgs)
    r = th.Raw(srv.pop3s_port, tls=True)
    assert r.readline().startswith(b"+OK")
    # login, and everything else, in one write
    r.send(auth_plain() + b"\r\nSTAT\r\nLIST\r\nRETR 2\r\nUIDL\r\nTOP 3 1\r\n"
           b"RETR 9\r\nNOOP\r\nRETR 1\r\nQUIT\r\n")
    assert r.readline().startswith(b"+OK")
    assert r.readline().split()[:3] == [b"+OK", b"3", b"%d" % sum(map(len, stored))]
    assert r.readline().startswith(b"+OK")
    assert r.read_multi() == [b"%d %d\r\n" % (i + 1, len(m)) for i, m in enumerate(stored)]
    assert r.readline().startswith(b"+OK")
    assert b"".join(r.read_multi()) == stored[1]
    assert r.readline().startswith(b"+OK")
    uidl = r.read_multi()
    assert [l.split()[0] for l in uidl] == [b"1", b"2", b"3"]
    assert r.readline().startswith(b"+OK")
    head, body = stored[2].split(b"\r\n\r\n", 1)
    assert b"".join(r.read_multi()) == head + b"\r\n\r\n" + body.split(b"\r\n")[0] + b"\r\n"
    assert r.readline().startswith(b"-ERR")
    assert r.readline().startswith(b"+OK")
    assert r.readline().startswith(b"+OK")
    assert b"".join(r.read_multi()) == stored[0]
    assert r.readline().startswith(b"+OK")
    assert r.is_closed()
    assert r.buf == b""
    r.close()


def test_pipelined_user_pass_after_stls(pop3_server):
    tern, srv = pop3_server
    stored = tern.import_mbox(th.USER, [th.make_message(1)])
    r = th.Raw(srv.pop3_port)
    assert r.readline_unbuffered().startswith(b"+OK")
    r.send(b"STLS\r\n")
    assert r.readline_unbuffered().startswith(b"+OK")
    r.sock = th.tls_client_context().wrap_socket(r.sock)
    r.send(b"USER %s\r\nPASS %s\r\nRETR 1\r\nQUIT\r\n" % (th.USER.encode(), th.PASSWORD.encode()))
    assert r.readline().startswith(b"+OK")
    assert r.readline().startswith(b"+OK")
    assert r.readline().startswith(b"+OK")
    assert b"".join(r.read_multi()) == stored[0]
    assert r.readline().startswith(b"+OK")
    r.close()


def test_twenty_megabytes_byte_for_byte(pop3_server):
    tern, srv = pop3_server
    msg = th.big_message(1, 20 * 1024 * 1024)
    stored = tern.import_mbox(th.USER, [msg])[0]
    want = hashlib.sha256(stored).hexdigest()
    del msg
    p = th.pop_stls(srv.pop3_port)
    assert p.stat() == (1, len(stored))
    got = b"\r\n".join(p.retr(1)[1]) + b"\r\n"
    assert len(got) == len(stored)
    assert hashlib.sha256(got).hexdigest() == want
    p.quit()


def test_slow_reader_does_not_stall_others(pop3_server):
    tern, srv = pop3_server
    big = tern.import_mbox(th.USER2, [th.big_message(7, 6 * 1024 * 1024)])[0]
    small = tern.import_mbox(th.USER, [th.make_message(1), th.make_message(2)])
    slow = th.Raw(srv.pop3s_port, tls=True, rcvbuf=8192)
    assert slow.readline().startswith(b"+OK")
    slow.login(th.USER2, th.PASSWORD2)
    slow.send(b"RETR 1\r\n")
    received = bytearray()
    t_end = time.monotonic() + 3.0
    other_done = False
    while time.monotonic() < t_end:
        received += slow.sock.recv(4096)
        time.sleep(0.05)
        if not other_done and time.monotonic() > t_end - 2.0:
            # meanwhile another user works normally, and quickly
            t0 = time.monotonic()
            p = th.pop_ssl(srv.pop3s_port)
            assert th.retr_all(p) == small
            p.dele(1)
            p.quit()
            assert time.monotonic() - t0 < 5.0 * th.SLOW
            other_done = True
    assert other_done
    assert len(received) < len(big)  # it really was still in the middle
    # now read the rest at full speed
    slow.buf = bytes(received)
    assert slow.readline().startswith(b"+OK")
    got = b"".join(slow.read_multi())
    assert hashlib.sha256(got).hexdigest() == hashlib.sha256(big).hexdigest()
    assert slow.cmd("QUIT").startswith(b"+OK")
    slow.close()
    p = th.pop_ssl(srv.pop3s_port)
    assert p.stat()[0] == 1
    p.quit()


def test_idle_timeout(tern_factory):
    tern = tern_factory({"pop3.idle_timeout": "2"})
    srv = tern.start()
    # before login, on the plain port; the server's clock starts at accept,
    # so start ours before connecting (a slow machine may deliver the
    # greeting late, the timeout is not late then)
    t0 = time.monotonic()
    r = th.Raw(srv.pop3_port)
    assert r.readline().startswith(b"+OK")
    r.sock.settimeout(10 * th.SLOW)
    assert r.readline().startswith(b"-ERR")
    assert time.monotonic() - t0 >= 1.5
    assert r.is_closed(5 * th.SLOW)
    r.close()
    # activity keeps a logged-in session alive past the timeout
    r = th.Raw(srv.pop3s_port, tls=True)
    r.readline()
    r.login()
    # 4 s of activity with a 2 s timeout; gaps of 0.5 s leave a slow
    # machine 1.5 s of slack per round trip
    for _ in range(8):
        time.sleep(0.5)
        assert r.cmd("NOOP").startswith(b"+OK")
    r.sock.settimeout(10 * th.SLOW)
    assert r.readline().startswith(b"-ERR")
    assert r.is_closed(5 * th.SLOW)
    r.close()
    # the mailbox was released: a new session gets in
    p = th.pop_ssl_retry(srv.pop3s_port)
    p.quit()


def test_line_too_long_and_unknown_commands(tern_factory):
    tern = tern_factory({"limits.errors_per_session": "100"})
    srv = tern.start()
    stored = tern.import_mbox(th.USER, [th.make_message(1)])
    r = th.Raw(srv.pop3s_port, tls=True)
    assert r.readline().startswith(b"+OK")
    r.send(b"NOOP " + b"x" * 100000 + b"\r\n")
    assert r.readline().startswith(b"-ERR")
    r.send(b"CAPA\r\n")
    line = r.readline()
    while line.startswith(b"-ERR"):  # tolerate one error per chunk of the long line
        line = r.readline()
    assert line.startswith(b"+OK")
    assert b"UIDL\r\n" in r.read_multi()
    for bad in (b"FOO", b"", b"STAT", b"RETR 1", b"USER"):
        assert r.cmd(bad).startswith(b"-ERR"), bad
    r.login()
    for bad in (b"FROB 1", b"RETR", b"RETR 0", b"RETR abc", b"RETR 99999999999999999999",
                b"LIST -1", b"TOP 1", b"TOP 1 x", b"DELE 2", b"STLS", b"USER x"):
        assert r.cmd(bad).startswith(b"-ERR"), bad
    assert b"".join(r.cmd_multi("RETR 1")) == stored[0]
    assert r.cmd("QUIT").startswith(b"+OK")
    r.close()


def test_too_many_errors_closes(tern_factory):
    tern = tern_factory({"limits.errors_per_session": "3"})
    srv = tern.start()
    r = th.Raw(srv.pop3_port)
    assert r.readline().startswith(b"+OK")
    replies = []
    closed = False
    for _ in range(8):
        try:
            r.send(b"BOGUS\r\n")
            replies.append(r.readline())
        except (EOFError, ConnectionResetError, BrokenPipeError):
            closed = True
            break
    assert closed, replies
    assert 2 <= len(replies) <= 4, replies
    assert all(l.startswith(b"-ERR") for l in replies), replies
    r.close()


def test_connections_per_ip(tern_factory):
    tern = tern_factory({"limits.connections_per_ip": "3"})
    srv = tern.start()
    held = [th.Raw(srv.pop3_port) for _ in range(3)]
    for h in held:
        assert h.readline().startswith(b"+OK")
    extra = th.Raw(srv.pop3_port)
    # RFC 3206 4: the client is told it is a temporary refusal, then closed
    assert extra.readline().startswith(b"-ERR [SYS/TEMP]")
    assert extra.is_closed()
    extra.close()
    # the held sessions still work
    assert held[0].cmd("NOOP").startswith(b"-ERR")  # not logged in: -ERR, not closed
    assert held[0].cmd("CAPA").startswith(b"+OK")
    assert b"UIDL\r\n" in held[0].read_multi()
    held.pop().close()
    # a slot frees up once a connection has gone
    def gets_in():
        c = th.Raw(srv.pop3_port)
        try:
            return c.readline().startswith(b"+OK")
        except (EOFError, ConnectionResetError):
            return False
        finally:
            c.close()
    assert th.wait_for(gets_in)
    for h in held:
        h.close()
