# test_pop3_basic - a POP3 mailbox as Python's poplib sees it: STAT, LIST,
# RETR byte for byte, TOP, UIDL, DELE/QUIT/RSET semantics (RFC 1939).
import os
import poplib

import pytest

import tern_harness as th


@pytest.fixture
def filled(pop3_server):
    """A server whose demo@ INBOX holds three imported messages."""
    tern, srv = pop3_server
    msgs = [th.make_message(1), th.make_message(2, extra_lines=30), th.make_message(3)]
    stored = tern.import_mbox(th.USER, msgs)
    return tern, srv, stored


def test_greeting_is_ok(pop3_server):
    _, srv = pop3_server
    for port, tls in ((srv.pop3_port, False), (srv.pop3s_port, True)):
        r = th.Raw(port, tls=tls)
        assert r.readline().startswith(b"+OK")
        assert r.cmd("QUIT").startswith(b"+OK")
        assert r.is_closed()
        r.close()


def test_stat_list_retr_byte_for_byte_stls(filled):
    _, srv, stored = filled
    p = th.pop_stls(srv.pop3_port)
    count, size = p.stat()
    assert count == 3
    assert size == sum(len(m) for m in stored)
    _, lines, _ = p.list()
    assert lines == [b"%d %d" % (i + 1, len(m)) for i, m in enumerate(stored)]
    assert p.list(2).split()[:3] == [b"+OK", b"2", b"%d" % len(stored[1])]
    assert th.retr_all(p) == stored
    assert p.quit().startswith(b"+OK")


def test_pop3s_retr(filled):
    _, srv, stored = filled
    p = th.pop_ssl(srv.pop3s_port)
    assert p.stat()[0] == 3
    assert th.retr_all(p) == stored
    p.quit()


def test_top(filled):
    _, srv, stored = filled
    p = th.pop_ssl(srv.pop3s_port)
    head, body = stored[1].split(b"\r\n\r\n", 1)
    _, lines, _ = p.top(2, 2)
    expect = head.split(b"\r\n") + [b""] + body.split(b"\r\n")[:2]
    assert lines == expect
    _, lines, _ = p.top(2, 0)
    assert lines == head.split(b"\r\n") + [b""]
    # more lines than the body has: the whole message
    _, lines, _ = p.top(1, 1000)
    assert b"\r\n".join(lines) + b"\r\n" == stored[0]
    with pytest.raises(poplib.error_proto):
        p.top(9, 1)
    p.quit()


def test_uidl_stable_and_unique(filled):
    _, srv, _ = filled
    p = th.pop_ssl(srv.pop3s_port)
    u1 = th.uidl_map(p)
    assert sorted(u1) == [1, 2, 3]
    assert len(set(u1.values())) == 3
    for uid in u1.values():
        # RFC 1939 section 7: 1 to 70 characters 0x21..0x7E
        assert 1 <= len(uid) <= 70 and all(0x21 <= c <= 0x7E for c in uid)
    assert p.uidl(2).split()[1:3] == [b"2", u1[2]]
    p.quit()
    p = th.pop_stls_retry(srv.pop3_port)
    assert th.uidl_map(p) == u1
    p.quit()


def test_dele_quit_removes(filled):
    _, srv, stored = filled
    p = th.pop_ssl(srv.pop3s_port)
    uids = th.uidl_map(p)
    assert p.dele(1).startswith(b"+OK")
    # a deleted message is gone for the rest of the session
    assert p.stat() == (2, len(stored[1]) + len(stored[2]))
    with pytest.raises(poplib.error_proto):
        p.retr(1)
    with pytest.raises(poplib.error_proto):
        p.dele(1)
    with pytest.raises(poplib.error_proto):
        p.list(1)
    assert p.quit().startswith(b"+OK")
    p = th.pop_ssl_retry(srv.pop3s_port)
    assert p.stat()[0] == 2
    assert th.retr_all(p) == stored[1:]
    # the remaining messages keep their unique ids
    assert sorted(th.uidl_map(p).values()) == sorted([uids[2], uids[3]])
    p.quit()


def test_dele_then_drop_removes_nothing(filled):
    _, srv, stored = filled
    p = th.pop_ssl(srv.pop3s_port)
    p.dele(1)
    p.dele(2)
    p.close()  # drop the connection without QUIT: RFC 1939 section 6, no UPDATE
    p = th.pop_ssl_retry(srv.pop3s_port)
    assert p.stat()[0] == 3
    assert th.retr_all(p) == stored
    p.quit()


def test_rset_undeletes(filled):
    _, srv, stored = filled
    p = th.pop_ssl(srv.pop3s_port)
    p.dele(1)
    p.dele(3)
    assert p.stat()[0] == 1
    assert p.rset().startswith(b"+OK")
    assert p.stat()[0] == 3
    assert p.noop().startswith(b"+OK")
    p.quit()
    p = th.pop_ssl_retry(srv.pop3s_port)
    assert th.retr_all(p) == stored
    p.quit()


def test_empty_mailbox(pop3_server):
    _, srv = pop3_server
    p = th.pop_ssl(srv.pop3s_port)
    assert p.stat() == (0, 0)
    assert p.list()[1] == []
    assert p.uidl()[1] == []
    with pytest.raises(poplib.error_proto):
        p.retr(1)
    p.quit()


def test_maildir_import_served(pop3_server):
    tern, srv = pop3_server
    m1 = th.make_message(11, subject="seen one")
    m2 = th.make_message(12, subject="new one")
    tern.import_maildir(th.USER, {"cur/1700000000.1.host:2,S": m1,
                                  "new/1700000001.2.host": m2})
    p = th.pop_ssl(srv.pop3s_port)
    got = th.retr_all(p)
    assert sorted(got) == sorted([th.crlf(m1), th.crlf(m2)])
    p.quit()


def test_dot_stuffing(pop3_server):
    tern, srv = pop3_server
    body = (b"first\n.\n..\n.leading dot\n...three\n. space\nlast\n")
    msg = th.make_message(5, body=body)
    stored = tern.import_mbox(th.USER, [msg])[0]
    # poplib unstuffs: must come back byte for byte
    p = th.pop_ssl(srv.pop3s_port)
    assert th.retr_all(p) == [stored]
    p.quit()
    # on the wire every line starting with "." gets one more (RFC 1939 3)
    r = th.Raw(srv.pop3s_port, tls=True)
    r.readline()
    r.login()
    assert r.cmd("RETR 1").startswith(b"+OK")
    raw = []
    while True:
        line = r.readline()
        if line == b".\r\n":
            break
        raw.append(line)
    body_lines = b"".join(raw).split(b"\r\n\r\n", 1)[1]
    assert body_lines == (b"first\r\n..\r\n...\r\n..leading dot\r\n....three\r\n"
                          b".. space\r\nlast\r\n")
    r.cmd("QUIT")
    r.close()


def drop_page_cache(root):
    """Drop every message file under root from the page cache (they are
    on disk: the store fsyncs them), so that reading them needs the disk."""
    for dirpath, _, names in os.walk(root):
        for name in names:
            fd = os.open(os.path.join(dirpath, name), os.O_RDONLY)
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)


def test_retr_large_message_from_a_cold_cache(pop3_server):
    """A message whose pages are not cached is read off the loop (in jobs)
    and arrives byte for byte, over TLS and after STLS; TOP of it too."""
    tern, srv = pop3_server
    stored = tern.import_mbox(th.USER, [th.big_message(1, 12 * 1000 * 1000)])[0]
    mail = os.path.join(tern.data_dir, "mail")
    drop_page_cache(mail)
    p = th.pop_ssl(srv.pop3s_port)
    assert th.retr_all(p) == [stored]
    drop_page_cache(mail)
    head, body = stored.split(b"\r\n\r\n", 1)
    _, lines, _ = p.top(1, 3)
    assert lines == head.split(b"\r\n") + [b""] + body.split(b"\r\n")[:3]
    p.quit()
    drop_page_cache(mail)
    p = th.pop_stls(srv.pop3_port)
    assert th.retr_all(p) == [stored]
    p.quit()
