# test_tls_policy - what a TLS client is offered, seen with openssl s_client:
# no session resumption (no TLS 1.2 ticket, no cached session), and on the
# client-facing services (pop3 after STLS, pop3s) only AEAD suites with
# ECDHE in TLS 1.2.
import re
import subprocess

import pytest

import tern_harness as th


def s_client(srv, mode, *extra):
    """One openssl s_client handshake on the pop3 port (STLS) or the pop3s
    port (implicit TLS), ended at once; returns (exit status, output)."""
    if mode == "stls":
        target = ["-connect", "127.0.0.1:%d" % srv.pop3_port, "-starttls", "pop3"]
    else:
        target = ["-connect", "127.0.0.1:%d" % srv.pop3s_port]
    p = subprocess.run(["openssl", "s_client"] + target + list(extra),
                       input=b"Q\n", capture_output=True, timeout=th.TIMEOUT * 2)
    return p.returncode, (p.stdout + p.stderr).decode(errors="replace")


def handshake_line(out):
    """s_client's summary: "New, TLSv1.2, Cipher is ..." or "Reused, ..."."""
    for line in out.splitlines():
        if line.startswith(("New,", "Reused,")):
            return line
    return None


@pytest.mark.parametrize("mode", ["stls", "implicit"])
def test_tls12_session_is_not_resumed(pop3_server, tmp_path, mode):
    _, srv = pop3_server
    sess = tmp_path / "session.pem"
    rc, out = s_client(srv, mode, "-tls1_2", "-sess_out", str(sess))
    assert rc == 0, out
    assert handshake_line(out).startswith("New, TLSv1.2"), out
    # no ticket issued (SSL_OP_NO_TICKET) and no session id to come back
    # with (no server-side cache)
    assert "TLS session ticket:" not in out, out
    assert re.search(r"^\s*Session-ID: *$", out, re.M), out
    # s_client saves only a resumable session; should it have saved one,
    # offering it back must still give a full handshake
    if sess.exists():
        rc, out = s_client(srv, mode, "-tls1_2", "-sess_in", str(sess))
        assert rc == 0, out
        line = handshake_line(out)
        assert line is not None and line.startswith("New,"), out
