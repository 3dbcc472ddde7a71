# test_ipv6 - a server listening on IPv4 and IPv6 loopback at once: the same
# pop3 port on 127.0.0.1 and [::1], pop3s on [::1]; log in and RETR over
# each, and the log names the IPv6 client as remote=::1.
import poplib
import socket

import pytest

import tern_harness as th


def ipv6_loopback_available():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def dual_free_port():
    """A port of th.free_port()'s (outside the ephemeral range, this
    worker's own in a parallel run) that is free on ::1 too."""
    for _ in range(50):
        port = th.free_port()
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s6:
            try:
                s6.bind(("::1", port))
            except OSError:
                continue
        return port
    raise AssertionError("no port free on both ::1 and 127.0.0.1")


def login_lines(srv, remote):
    out = []
    for line in srv.stderr_text().splitlines():
        kv = dict(th.LOG_KV.findall(line))
        if kv.get("msg") == '"login"' and kv.get("remote") == remote:
            out.append(kv)
    return out


def connect_lines(srv, sid):
    return [l for l in srv.stderr_text().splitlines()
            if "sid=%s " % sid in l and 'msg="connect"' in l]


@pytest.fixture
def dual_server(tern_factory):
    if not ipv6_loopback_available():
        pytest.skip("no ::1 on this machine")
    tern = tern_factory()
    stored = tern.import_mbox(th.USER, [th.make_message(1),
                                        th.make_message(2, body=b"x\n.\n..y\n"),
                                        th.make_message(3, extra_lines=40)])
    pop3_port = dual_free_port()
    pop3s_port = dual_free_port()
    srv = tern.start(sets={
        "listen.pop3": "127.0.0.1:%d, [::1]:%d" % (pop3_port, pop3_port),
        "listen.pop3s": "[::1]:%d" % pop3s_port,
    })
    return srv, stored, pop3_port, pop3s_port


def retr_and_quit(p, stored):
    assert th.retr_all(p) == stored
    p.quit()


def test_ipv6_stls_retr(dual_server):
    srv, stored, pop3_port, _ = dual_server
    p = poplib.POP3("::1", pop3_port, timeout=th.TIMEOUT)
    assert p.sock.family == socket.AF_INET6
    p.stls(context=th.tls_client_context())
    p.user(th.USER)
    p.pass_(th.PASSWORD)
    retr_and_quit(p, stored)
    logins = th.wait_for(lambda: login_lines(srv, "::1"))
    assert len(logins) == 1, srv.stderr_text()
    assert logins[0]["user"] == '"%s"' % th.USER
    # the session's connect line: remote and local are both IPv6 loopback
    connects = connect_lines(srv, logins[0]["sid"])
    assert len(connects) == 1 and " remote=::1 " in connects[0], connects
    assert "local=::1:%d" % pop3_port in connects[0], connects


def test_ipv6_pop3s_retr(dual_server):
    srv, stored, _, pop3s_port = dual_server
    p = poplib.POP3_SSL("::1", pop3s_port, timeout=th.TIMEOUT,
                        context=th.tls_client_context())
    assert p.sock.family == socket.AF_INET6
    p.user(th.USER)
    p.pass_(th.PASSWORD)
    retr_and_quit(p, stored)
    logins = th.wait_for(lambda: login_lines(srv, "::1"))
    assert len(logins) == 1, srv.stderr_text()
    connects = connect_lines(srv, logins[0]["sid"])
    assert len(connects) == 1 and " remote=::1 " in connects[0], connects
    assert "tls=implicit" in connects[0], connects


def test_ipv4_and_ipv6_same_port(dual_server):
    srv, stored, pop3_port, _ = dual_server
    # IPv4 on the port shared with [::1] (pop_stls connects to 127.0.0.1)
    p4 = th.pop_stls(pop3_port)
    assert p4.sock.family == socket.AF_INET
    # ... and an IPv6 session alongside it on the same port
    p6 = poplib.POP3("::1", pop3_port, timeout=th.TIMEOUT)
    p6.stls(context=th.tls_client_context())
    p6.user(th.USER2)
    p6.pass_(th.PASSWORD2)
    assert th.retr_all(p6) == []
    p6.quit()
    retr_and_quit(p4, stored)
    assert th.wait_for(lambda: len(login_lines(srv, "127.0.0.1")) == 1), srv.stderr_text()
    v6 = th.wait_for(lambda: login_lines(srv, "::1"))
    assert [kv["user"] for kv in v6] == ['"%s"' % th.USER2], srv.stderr_text()
