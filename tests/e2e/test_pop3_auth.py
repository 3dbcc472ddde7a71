# test_pop3_auth - logging in to POP3: CAPA before and after TLS, USER/PASS,
# SASL PLAIN and LOGIN (RFC 5034), refusals before TLS (RFC 2595 / DESIGN 7),
# wrong passwords, [IN-USE] (RFC 2449 8.1).
import base64
import poplib

import pytest

import tern_harness as th


def capa_of(p):
    caps = p.capa()
    return {k.upper(): [v.upper() for v in vals] for k, vals in caps.items()}


def sasl_mechs(caps):
    return set(caps.get("SASL", []))


COMMON = ("TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING", "IMPLEMENTATION")


def test_capa_plaintext_hides_passwords(pop3_server):
    _, srv = pop3_server
    p = poplib.POP3("127.0.0.1", srv.pop3_port, timeout=th.TIMEOUT)
    caps = capa_of(p)
    for c in COMMON + ("STLS",):
        assert c in caps, caps
    assert "USER" not in caps
    assert not sasl_mechs(caps) & {"PLAIN", "LOGIN"}
    p.quit()


def test_capa_after_stls_and_on_pop3s(pop3_server):
    _, srv = pop3_server
    p = th.pop_stls(srv.pop3_port, login=False)
    caps = capa_of(p)
    for c in COMMON + ("USER",):
        assert c in caps, caps
    assert "STLS" not in caps
    assert {"PLAIN", "LOGIN"} <= sasl_mechs(caps)
    # a second STLS inside TLS is refused
    with pytest.raises(poplib.error_proto):
        p._shortcmd("STLS")
    p.quit()
    p = th.pop_ssl(srv.pop3s_port, login=False)
    caps = capa_of(p)
    assert "USER" in caps and "STLS" not in caps
    assert {"PLAIN", "LOGIN"} <= sasl_mechs(caps)
    p.quit()


def test_plaintext_login_refused(pop3_server):
    _, srv = pop3_server
    p = poplib.POP3("127.0.0.1", srv.pop3_port, timeout=th.TIMEOUT)
    with pytest.raises(poplib.error_proto) as e:
        p.user(th.USER)
        p.pass_(th.PASSWORD)
    assert e.value.args[0].startswith(b"-ERR [AUTH]")
    token = base64.b64encode(b"\0" + th.USER.encode() + b"\0" + th.PASSWORD.encode())
    with pytest.raises(poplib.error_proto) as e:
        p._shortcmd("AUTH PLAIN " + token.decode())
    assert e.value.args[0].startswith(b"-ERR [AUTH]")
    # not logged in: transaction commands are refused
    with pytest.raises(poplib.error_proto):
        p.stat()
    # STLS still works after that, and then login
    p.stls(context=th.tls_client_context())
    p.user(th.USER)
    p.pass_(th.PASSWORD)
    assert p.stat() == (0, 0)
    p.quit()


def test_plaintext_loopback_allowed(tern_factory):
    tern = tern_factory({"auth.allow_plaintext_loopback": "yes"})
    srv = tern.start()
    stored = tern.import_mbox(th.USER, [th.make_message(1)])
    p = poplib.POP3("127.0.0.1", srv.pop3_port, timeout=th.TIMEOUT)
    caps = capa_of(p)
    assert "USER" in caps and "STLS" in caps
    assert {"PLAIN", "LOGIN"} <= sasl_mechs(caps)
    p.user(th.USER)
    assert p.pass_(th.PASSWORD).startswith(b"+OK")
    assert th.retr_all(p) == stored
    p.quit()


def test_auth_plain_initial_response(pop3_server):
    _, srv = pop3_server
    p = th.pop_stls(srv.pop3_port, login=False)
    token = base64.b64encode(b"\0" + th.USER.encode() + b"\0" + th.PASSWORD.encode())
    assert p._shortcmd("AUTH PLAIN " + token.decode()).startswith(b"+OK")
    assert p.stat() == (0, 0)
    p.quit()


def test_auth_plain_continuation_and_login(pop3_server):
    _, srv = pop3_server
    p = th.pop_ssl(srv.pop3s_port, login=False)
    p._putcmd("AUTH PLAIN")
    assert p._getline()[0].startswith(b"+")
    p._putcmd(base64.b64encode(b"\0" + th.USER.encode() + b"\0" + th.PASSWORD.encode()).decode())
    assert p._getresp().startswith(b"+OK")
    p.quit()
    # the other account: demo@'s lock may not be released yet
    p = th.pop_ssl(srv.pop3s_port, login=False)
    p._putcmd("AUTH LOGIN")
    line = p._getline()[0]
    assert line.startswith(b"+ ")
    p._putcmd(base64.b64encode(th.USER2.encode()).decode())
    assert p._getline()[0].startswith(b"+ ")
    p._putcmd(base64.b64encode(th.PASSWORD2.encode()).decode())
    assert p._getresp().startswith(b"+OK")
    assert p.stat() == (0, 0)
    p.quit()


def test_auth_cancel(pop3_server):
    _, srv = pop3_server
    p = th.pop_ssl(srv.pop3s_port, login=False)
    p._putcmd("AUTH PLAIN")
    assert p._getline()[0].startswith(b"+")
    p._putcmd("*")
    with pytest.raises(poplib.error_proto):
        p._getresp()
    # the session goes on
    p.user(th.USER)
    assert p.pass_(th.PASSWORD).startswith(b"+OK")
    p.quit()


def test_wrong_password_then_right_one(pop3_server):
    _, srv = pop3_server
    p = th.pop_ssl(srv.pop3s_port, login=False)
    p.user(th.USER)
    with pytest.raises(poplib.error_proto) as e:
        p.pass_("wrong password")
    assert e.value.args[0].startswith(b"-ERR [AUTH]")
    p.user(th.USER)
    assert p.pass_(th.PASSWORD).startswith(b"+OK")
    p.quit()


def test_unknown_user(pop3_server):
    _, srv = pop3_server
    p = th.pop_ssl(srv.pop3s_port, login=False)
    with pytest.raises(poplib.error_proto) as e:
        p.user("nobody-here@localhost")
        p.pass_(th.PASSWORD)
    assert e.value.args[0].startswith(b"-ERR [AUTH]")
    token = base64.b64encode(b"\0nobody@nowhere.example\0x")
    with pytest.raises(poplib.error_proto) as e:
        p._shortcmd("AUTH PLAIN " + token.decode())
    assert e.value.args[0].startswith(b"-ERR [AUTH]")
    p.quit()


def test_other_users_password_refused(pop3_server):
    _, srv = pop3_server
    p = th.pop_ssl(srv.pop3s_port, login=False)
    p.user(th.USER)
    with pytest.raises(poplib.error_proto) as e:
        p.pass_(th.PASSWORD2)
    assert e.value.args[0].startswith(b"-ERR [AUTH]")
    p.quit()
    # and demo2@ itself, with that password, is not affected
    q = th.pop_ssl(srv.pop3s_port, th.USER2, th.PASSWORD2)
    assert q.stat() == (0, 0)
    q.quit()


def test_too_many_auth_failures_closes(tern_factory):
    tern = tern_factory({"limits.auth_failures": "2"})
    srv = tern.start()
    r = th.Raw(srv.pop3s_port, tls=True)
    assert r.readline().startswith(b"+OK")
    bad = base64.b64encode(b"\0" + th.USER.encode() + b"\0nope")
    replies = []
    closed = False
    for _ in range(4):
        try:
            line = r.cmd(b"AUTH PLAIN " + bad)
        except (EOFError, ConnectionResetError, BrokenPipeError):
            closed = True
            break
        replies.append(line)
    if not closed:
        closed = r.is_closed(th.TIMEOUT)
    assert closed, replies
    assert replies and all(l.startswith(b"-ERR") for l in replies), replies
    assert len(replies) <= 3
    r.close()


def test_in_use(pop3_server):
    tern, srv = pop3_server
    tern.import_mbox(th.USER, [th.make_message(1)])
    first = th.pop_ssl(srv.pop3s_port)
    second = th.pop_stls(srv.pop3_port, login=False)
    second.user(th.USER)
    with pytest.raises(poplib.error_proto) as e:
        second.pass_(th.PASSWORD)
    assert e.value.args[0].startswith(b"-ERR [IN-USE]")
    # another account is not affected
    other = th.pop_ssl(srv.pop3s_port, th.USER2, th.PASSWORD2)
    assert other.stat() == (0, 0)
    other.quit()
    assert first.stat()[0] == 1
    first.quit()
    second.quit()
    # once the first session has quit, the mailbox is free
    third = th.pop_ssl_retry(srv.pop3s_port)
    assert third.stat()[0] == 1
    third.quit()
