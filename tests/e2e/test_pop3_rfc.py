# test_pop3_rfc - RFC 1939/2449/5034 corners a client relies on: commands in
# the wrong state, deleted messages addressed by number, sizes equal to the
# octets RETR sends, messages without a final newline, CAPA after login,
# QUIT in both states and when the maildrop lock is let go, AUTH "=".
import base64

import pytest

import tern_harness as th


def plain_token(user=th.USER, password=th.PASSWORD):
    return base64.b64encode(b"\0" + user.encode() + b"\0" + password.encode())


def connect(srv):
    r = th.Raw(srv.pop3s_port, tls=True)
    assert r.readline().startswith(b"+OK")
    return r


def retr_wire(r, n):
    """RETR n: the octets of the message, unstuffed."""
    status = r.cmd("RETR %d" % n)
    assert status.startswith(b"+OK"), status
    return b"".join(r.read_multi())


@pytest.fixture
def three(tern_factory):
    tern = tern_factory({"limits.errors_per_session": "100"})
    srv = tern.start()
    msgs = [th.make_message(1), th.make_message(2, body=b".\n..x\n.\n"),
            th.make_message(3, extra_lines=3)]
    return tern, srv, tern.import_mbox(th.USER, msgs)


def test_commands_in_the_wrong_state(three):
    _, srv, stored = three
    r = connect(srv)
    # RFC 1939 4: only USER/PASS/APOP/AUTH/CAPA/STLS/QUIT before login
    for bad in ("STAT", "LIST", "LIST 1", "RETR 1", "DELE 1", "RSET", "TOP 1 0",
                "UIDL", "UIDL 1", "NOOP", "PASS " + th.PASSWORD):
        line = r.cmd(bad)
        assert line.startswith(b"-ERR"), (bad, line)
    # none of it counted: the session logs in and sees the whole maildrop
    assert r.cmd(b"AUTH PLAIN " + plain_token()).startswith(b"+OK")
    for bad in ("USER " + th.USER, "PASS " + th.PASSWORD, "AUTH PLAIN",
                "AUTH PLAIN " + plain_token().decode(), "STLS"):
        line = r.cmd(bad)
        assert line.startswith(b"-ERR"), (bad, line)
    assert r.cmd("STAT").split()[:3] == [b"+OK", b"3", b"%d" % sum(map(len, stored))]
    assert retr_wire(r, 2) == stored[1]
    assert r.cmd("QUIT").startswith(b"+OK")
    assert r.is_closed()
    r.close()
    p = th.pop_ssl_retry(srv.pop3s_port)
    assert th.retr_all(p) == stored   # the DELE before login deleted nothing
    p.quit()


def test_deleted_message_by_number(three):
    _, srv, stored = three
    r = connect(srv)
    r.login()
    uidl = r.cmd_multi("UIDL")
    assert r.cmd("DELE 2").startswith(b"+OK")
    for cmd in ("LIST 2", "UIDL 2", "TOP 2 0", "RETR 2", "DELE 2"):
        line = r.cmd(cmd)
        assert line.startswith(b"-ERR"), (cmd, line)
    # RFC 1939 5: deleted messages are not listed, the others keep numbers
    assert r.cmd_multi("LIST") == [b"1 %d\r\n" % len(stored[0]), b"3 %d\r\n" % len(stored[2])]
    assert r.cmd_multi("UIDL") == [uidl[0], uidl[2]]
    assert r.cmd("LIST 3") == b"+OK 3 %d\r\n" % len(stored[2])
    assert r.cmd("UIDL 3") == b"+OK " + uidl[2]
    assert r.cmd("STAT").split()[:3] == [b"+OK", b"2", b"%d" % (len(stored[0]) + len(stored[2]))]
    assert retr_wire(r, 3) == stored[2]
    r.close()  # dropped: nothing removed
    p = th.pop_ssl_retry(srv.pop3s_port)
    assert th.retr_all(p) == stored
    p.quit()


def test_sizes_are_the_octets_retr_sends(three):
    _, srv, stored = three
    r = connect(srv)
    r.login()
    listing = r.cmd_multi("LIST")
    total = 0
    for line in listing:
        n, size = (int(x) for x in line.split())
        got = retr_wire(r, n)
        assert got == stored[n - 1]
        assert len(got) == size, (n, size, len(got))
        total += size
    assert r.cmd("STAT").split()[:3] == [b"+OK", b"3", b"%d" % total]
    r.cmd("QUIT")
    r.close()


NO_EOL = b"Subject: no final newline\n\nthe last line has no end"
HEADER_ONLY = b"Subject: header only, no body"


@pytest.fixture
def unterminated(pop3_server):
    """demo@ holds two messages whose files do not end in a newline."""
    tern, srv = pop3_server
    p = tern.import_maildir(th.USER, {"cur/1.a:2,S": NO_EOL, "cur/2.b:2,S": HEADER_ONLY})
    assert "imported 2 messages" in p.stdout, p.stdout
    return tern, srv


def test_retr_of_message_without_final_crlf(unterminated):
    _, srv = unterminated
    r = connect(srv)
    r.login()
    # RFC 1939 3: the terminating "." must be on a line of its own, so the
    # server ends the last line with CRLF before it
    assert retr_wire(r, 1) == th.crlf(NO_EOL) + b"\r\n"
    assert retr_wire(r, 2) == HEADER_ONLY + b"\r\n"
    # TOP 0 of a message without a body: the header, nothing more
    assert r.cmd_multi("TOP 2 0") == [HEADER_ONLY + b"\r\n"]
    assert b"".join(r.cmd_multi("TOP 1 5")) == th.crlf(NO_EOL) + b"\r\n"
    r.cmd("QUIT")
    r.close()


def test_size_of_message_without_final_crlf(unterminated):
    _, srv = unterminated
    r = connect(srv)
    r.login()
    sizes = []
    for n in (1, 2):
        size = int(r.cmd("LIST %d" % n).split()[2])
        sizes.append((size, len(retr_wire(r, n))))
    r.close()
    for listed, sent in sizes:
        assert listed == sent, sizes


def test_top_on_the_wire(three):
    _, srv, stored = three
    r = connect(srv)
    r.login()
    head, body = stored[1].split(b"\r\n\r\n", 1)
    # body lines ".", "..x", "." are stuffed in TOP just as in RETR
    r.send(b"TOP 2 2\r\n")
    assert r.readline().startswith(b"+OK")
    raw = []
    while True:
        line = r.readline()
        if line == b".\r\n":
            break
        raw.append(line)
    assert b"".join(raw) == head + b"\r\n\r\n..\r\n...x\r\n"
    assert b"".join(r.cmd_multi("TOP 2 0")) == head + b"\r\n\r\n"
    assert b"".join(r.cmd_multi("TOP 2 3")) == stored[1]
    assert b"".join(r.cmd_multi("TOP 2 4000000000")) == stored[1]
    for bad in ("TOP 2 -1", "TOP 4 0", "TOP 0 0", "TOP 2"):
        assert r.cmd(bad).startswith(b"-ERR"), bad
    r.close()


def test_capa_in_transaction(three):
    _, srv, stored = three
    r = connect(srv)
    r.login()
    caps = [l.rstrip(b"\r\n").upper() for l in r.cmd_multi("CAPA")]
    names = {c.split()[0] for c in caps}
    for c in (b"TOP", b"UIDL", b"RESP-CODES", b"PIPELINING", b"IMPLEMENTATION"):
        assert c in names, caps
    # STLS is not available any more inside TLS (RFC 2595 4)
    assert b"STLS" not in names
    # and the session goes on as before
    assert retr_wire(r, 1) == stored[0]
    assert r.cmd("QUIT").startswith(b"+OK")
    r.close()


def test_quit_in_authorization(pop3_server):
    tern, srv = pop3_server
    stored = tern.import_mbox(th.USER, [th.make_message(1)])
    r = connect(srv)
    assert r.cmd("USER " + th.USER).startswith(b"+OK")
    assert r.cmd("QUIT").startswith(b"+OK")
    assert r.is_closed()
    assert r.buf == b""
    # no lock was taken before login: a session gets in at once
    p = th.pop_ssl(srv.pop3s_port)
    assert th.retr_all(p) == stored
    p.quit()
    r.close()


def test_quit_with_deletions_releases_the_maildrop_before_ok(pop3_server):
    tern, srv = pop3_server
    stored = tern.import_mbox(th.USER, [th.make_message(1), th.make_message(2)])
    r = connect(srv)
    r.login()
    assert r.cmd("DELE 1").startswith(b"+OK")
    assert r.cmd("QUIT").startswith(b"+OK")
    # the client has not closed its end yet; the next session gets in
    # at once and the deletion is done
    s = connect(srv)
    assert s.cmd(b"AUTH PLAIN " + plain_token()).startswith(b"+OK")
    assert s.cmd_multi("LIST") == [b"1 %d\r\n" % len(stored[1])]
    assert retr_wire(s, 1) == stored[1]
    s.close()
    r.close()


def test_quit_releases_the_maildrop_before_ok(pop3_server):
    tern, srv = pop3_server
    tern.import_mbox(th.USER, [th.make_message(1)])
    r = connect(srv)
    r.login()
    assert r.cmd("STAT").startswith(b"+OK")
    assert r.cmd("QUIT").startswith(b"+OK")
    s = connect(srv)
    reply = s.cmd(b"AUTH PLAIN " + plain_token())
    s.close()
    r.close()
    assert reply.startswith(b"+OK"), reply


def test_auth_bad_input_keeps_the_session(pop3_server):
    tern, srv = pop3_server
    r = connect(srv)
    # RFC 5034 4: undecodable base64 and unknown mechanisms get -ERR
    for bad in (b"AUTH PLAIN !!!notbase64", b"AUTH PLAIN AGRlbW8=x", b"AUTH CRAM-MD5",
                b"AUTH NOSUCH " + plain_token()):
        line = r.cmd(bad)
        assert line.startswith(b"-ERR"), (bad, line)
    assert r.cmd(b"AUTH PLAIN " + plain_token()).startswith(b"+OK")
    # RFC 5034 4: no second AUTH after a successful one
    assert r.cmd(b"AUTH PLAIN " + plain_token()).startswith(b"-ERR")
    assert r.cmd("STAT").startswith(b"+OK 0 0")
    r.close()


def test_auth_plain_equals_is_an_empty_response(pop3_server):
    _, srv = pop3_server
    r = connect(srv)
    reply = r.cmd("AUTH PLAIN =")
    if reply.startswith(b"+ "):
        r.cmd("*")
    r.close()
    assert reply.startswith(b"-ERR"), reply
