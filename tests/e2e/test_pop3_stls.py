# test_pop3_stls - STLS command injection (CVE-2011-0411 class, DESIGN 7):
# commands pipelined after STLS in the clear must be thrown away, never run
# inside the TLS session.
import pytest

import tern_harness as th


@pytest.mark.parametrize("injected", [b"CAPA\r\n", b"USER x\r\n",
                                      b"CAPA\r\nNOOP\r\nUSER x\r\n"])
def test_stls_discards_pipelined_plaintext(pop3_server, injected):
    _, srv = pop3_server
    r = th.Raw(srv.pop3_port)
    assert r.readline_unbuffered().startswith(b"+OK")
    r.send(b"STLS\r\n" + injected)
    reply = r.readline_unbuffered()
    assert reply.startswith(b"+OK"), reply
    # nothing may be answered in the clear after +OK: the next bytes must be
    # the TLS handshake, which wrap_socket would choke on otherwise
    r.sock = th.tls_client_context().wrap_socket(r.sock)
    r.send(b"QUIT\r\n")
    assert r.is_closed()
    # exactly QUIT's answer: no CAPA list, no USER reply before it
    lines = r.buf.split(b"\r\n")
    assert lines[-1] == b""
    lines = lines[:-1]
    assert len(lines) == 1, lines
    assert lines[0].startswith(b"+OK"), lines
    r.close()


def test_stls_then_login_uses_no_injected_user(pop3_server):
    """USER sent in the clear before the handshake must not count: PASS
    inside TLS then has no user to go with."""
    _, srv = pop3_server
    r = th.Raw(srv.pop3_port)
    r.readline_unbuffered()
    r.send(b"STLS\r\nUSER " + th.USER.encode() + b"\r\n")
    assert r.readline_unbuffered().startswith(b"+OK")
    r.sock = th.tls_client_context().wrap_socket(r.sock)
    reply = r.cmd(b"PASS " + th.PASSWORD.encode())
    assert reply.startswith(b"-ERR"), reply
    assert r.cmd("STAT").startswith(b"-ERR")
    r.close()
