# test_imap_session - the IMAP session with imaplib and a raw client: the
# greeting, STARTTLS and IMAPS, LOGIN refused before TLS (LOGINDISABLED),
# AUTHENTICATE PLAIN with SASL-IR and without, the capabilities after
# login, ID, ENABLE and NAMESPACE, pipelined commands answered in order,
# STARTTLS injection, the "+ " continuation, error limits and bad input.
import base64
import imaplib
import time

import pytest

import tern_harness as th


@pytest.fixture(scope="module")
def imap():
    with th.imap_tern() as t:
        yield t


def test_greeting_names_capabilities(imap):
    r = th.RawIMAP(imap.imap_port)
    assert r.greeting.startswith(b"* OK [CAPABILITY IMAP4rev1 IMAP4rev2 "), r.greeting
    # DESIGN 7: no password in clear: no mechanism before TLS
    assert b"STARTTLS" in r.greeting and b"LOGINDISABLED" in r.greeting
    assert b"AUTH=PLAIN" not in r.greeting
    r.close()


def test_login_before_tls_refused(imap):
    r = th.RawIMAP(imap.imap_port)
    _, done = r.cmd("LOGIN %s %s" % (th.USER, th.PASSWORD))
    assert done.startswith(b"t1 NO [PRIVACYREQUIRED]"), done
    token = base64.b64encode(b"\0" + th.USER.encode() + b"\0" + th.PASSWORD.encode())
    _, done = r.cmd(b"AUTHENTICATE PLAIN " + token)
    assert done.startswith(b"t2 NO [PRIVACYREQUIRED]"), done
    _, done = r.cmd("SELECT INBOX")
    assert done.startswith(b"t3 BAD"), done
    r.close()


def test_starttls_login_capabilities(imap):
    m = imaplib.IMAP4("127.0.0.1", imap.imap_port, timeout=th.TIMEOUT)
    assert "LOGINDISABLED" in m.capabilities
    m.starttls(ssl_context=th.tls_client_context())
    # imaplib asks CAPABILITY again after STARTTLS: now with mechanisms
    assert "AUTH=PLAIN" in m.capabilities and "STARTTLS" not in m.capabilities
    typ, data = m.login(th.USER, th.PASSWORD)
    assert typ == "OK"
    # it asked CAPABILITY before login: the OK carries the new list
    assert data[0].startswith(b"[CAPABILITY IMAP4rev1 IMAP4rev2 "), data
    assert b"UIDPLUS" in data[0] and b"LOGINDISABLED" not in data[0]
    assert m.noop()[0] == "OK"
    assert m.logout()[0] == "BYE"


def test_imaps_login_wrong_password(imap):
    m = th.imap_ssl(imap.imaps_port, login=False)
    with pytest.raises(imaplib.IMAP4.error) as e:
        m.login(th.USER, "wrong")
    assert "AUTHENTICATIONFAILED" in str(e.value)
    m.login(th.USER, th.PASSWORD)
    m.logout()


def test_authenticate_plain_sasl_ir_and_continuation(imap):
    r = th.RawIMAP(imap.imaps_port, tls=True)
    assert b"AUTH=PLAIN" in r.greeting and b"SASL-IR" in r.greeting
    # without an initial response: exactly "+ " and an empty challenge
    r.send(b"a AUTHENTICATE PLAIN\r\n")
    assert r.readline() == b"+ \r\n"
    r.send(base64.b64encode(b"\0" + th.USER.encode() + b"\0" + th.PASSWORD.encode()) + b"\r\n")
    untagged, done = r.read_until("a")
    assert done.startswith(b"a OK"), done
    r.close()
    # RFC 4959: with it, in one line
    r = th.RawIMAP(imap.imaps_port, tls=True)
    r.login()
    r.ok("NOOP")
    r.close()


def test_authenticate_cancelled_and_login_mechanism(imap):
    r = th.RawIMAP(imap.imaps_port, tls=True)
    r.send(b"a AUTHENTICATE PLAIN\r\n")
    assert r.readline() == b"+ \r\n"
    r.send(b"*\r\n")
    _, done = r.read_until("a")
    assert done.startswith(b"a BAD"), done
    # AUTHENTICATE LOGIN: user name and password asked in turn
    r.send(b"b AUTHENTICATE LOGIN\r\n")
    assert r.readline().startswith(b"+ ")
    r.send(base64.b64encode(th.USER.encode()) + b"\r\n")
    assert r.readline().startswith(b"+ ")
    r.send(base64.b64encode(th.PASSWORD.encode()) + b"\r\n")
    _, done = r.read_until("b")
    assert done.startswith(b"b OK"), done
    r.close()


def test_starttls_injection_discarded(imap):
    r = th.RawIMAP(imap.imap_port)
    # commands pipelined after STARTTLS in the clear are thrown away
    r.send(b"a STARTTLS\r\nb CAPABILITY\r\nc LOGIN x y\r\n")
    line = r.readline_unbuffered()
    assert line.startswith(b"a OK"), line
    r.sock = th.tls_client_context().wrap_socket(r.sock)
    r.send(b"d NOOP\r\n")
    untagged, done = r.read_until("d")
    assert done.startswith(b"d OK") and untagged == [], (untagged, done)
    r.close()


def test_pipelined_commands_answered_in_order(imap):
    r = th.RawIMAP(imap.imaps_port, tls=True)
    r.login()
    tags = ["p%d" % i for i in range(40)]
    cmds = ["NOOP", "CAPABILITY", "NAMESPACE", "ID NIL"]
    r.send(b"".join(("%s %s\r\n" % (tag, cmds[i % 4])).encode() for i, tag in enumerate(tags)))
    seen = []
    while len(seen) < len(tags):
        line = r.response_line()
        if not line.startswith(b"*"):
            seen.append(line.split(b" ")[0].decode())
            assert line.split(b" ")[1] == b"OK", line
    assert seen == tags
    r.close()


def test_id_enable_namespace(imap):
    r = th.RawIMAP(imap.imaps_port, tls=True)
    untagged = r.ok('ID ("name" "e2e" "version" "1")')
    assert untagged[0].startswith(b'* ID ("name" "tern"'), untagged
    _, done = r.cmd("ENABLE IMAP4rev2")
    assert done.startswith(b"t2 BAD"), done     # only once authenticated
    r.login()
    untagged = r.ok("ENABLE IMAP4rev2 UTF8=ACCEPT X-UNKNOWN")
    assert untagged == [b"* ENABLED IMAP4rev2 UTF8=ACCEPT"], untagged
    # enabled once only
    assert r.ok("ENABLE IMAP4rev2") == [b"* ENABLED"]
    assert r.ok("NAMESPACE") == [b'* NAMESPACE (("" "/")) NIL NIL']
    r.close()


def test_bad_input(imap):
    r = th.RawIMAP(imap.imaps_port, tls=True)
    # a line without a tag gets an untagged BAD
    r.send(b"\r\n(\r\n")
    assert r.readline().startswith(b"* BAD")
    _, done = r.cmd("FROBNICATE")
    assert done.startswith(b"t1 BAD"), done
    _, done = r.cmd("NOOP extra")
    assert done.startswith(b"t2 BAD"), done
    r.ok("NOOP")
    r.close()


def test_errors_per_session_end_with_bye():
    with th.imap_tern({"limits.errors_per_session": "3"}) as t:
        r = th.RawIMAP(t.imaps_port, tls=True)
        r.cmd("X1")
        r.cmd("X2")
        r.send(b"t9 X3\r\n")
        assert r.readline().startswith(b"t9 BAD")
        assert r.readline().startswith(b"* BYE")
        assert r.is_closed()


def test_logout_closes(imap):
    r = th.RawIMAP(imap.imaps_port, tls=True)
    untagged, done = r.cmd("LOGOUT")
    assert untagged == [b"* BYE Logging out"] and done.startswith(b"t1 OK")
    assert r.is_closed()


def test_idle_timeout_autologout():
    with th.imap_tern({"imap.idle_timeout": "1"}) as t:
        r = th.RawIMAP(t.imaps_port, tls=True)
        r.login()
        assert r.readline().startswith(b"* BYE Autologout")
        assert r.is_closed()


def test_commands_in_the_packet_of_done_are_answered(imap):
    """iOS 18 Mail: DONE and the next commands arrive in one packet."""
    r = th.RawIMAP(imap.imaps_port, tls=True)
    r.login()
    r.ok("SELECT INBOX")
    r.send(b"i IDLE\r\n")
    assert r.readline().startswith(b"+ ")
    r.send(b"DONE\r\nn1 NOOP\r\nn2 NAMESPACE\r\n")
    _, done = r.read_until("i")
    assert done.startswith(b"i OK"), done
    _, done = r.read_until("n1")
    assert done.startswith(b"n1 OK"), done
    untagged, done = r.read_until("n2")
    assert done.startswith(b"n2 OK") and untagged == [b'* NAMESPACE (("" "/")) NIL NIL']
    r.close()


def test_authenticate_response_too_long_is_skipped_whole(imap):
    """A SASL response longer than [imap] line_length (65536 here) gets one
    tagged BAD once its line ends; none of it is read as commands."""
    r = th.RawIMAP(imap.imaps_port, tls=True)
    r.send(b"a AUTHENTICATE PLAIN\r\n")
    assert r.readline() == b"+ \r\n"
    r.send(b"QUFB" * 50000 + b" x NOOP\r\nb NOOP\r\n")
    untagged, done = r.read_until("a")
    assert done.startswith(b"a BAD") and untagged == [], (untagged, done)
    untagged, done = r.read_until("b")
    assert done.startswith(b"b OK") and untagged == [], (untagged, done)
    r.close()


def test_over_long_line_being_skipped_is_still_input_too_slow():
    """While the rest of an over-long line is dropped, [limits]
    min_input_rate still applies: a trickle is cut."""
    with th.imap_tern({"imap.line_length": "512", "limits.login_timeout": "0",
                       "limits.slow_input_timeout": "1", "limits.min_input_rate": "50"}) as t:
        r = th.RawIMAP(t.imaps_port, tls=True)
        r.send(b"a AUTHENTICATE PLAIN\r\n")
        assert r.readline() == b"+ \r\n"
        r.send(b"A" * 600)
        t0 = time.monotonic()
        try:
            for _ in range(30):
                r.send(b"A")
                time.sleep(0.4)
        except OSError:
            pass
        assert r.readline().startswith(b"* BYE Disconnected: input too slow")
        assert time.monotonic() - t0 < 8 * th.SLOW
        r.close()
