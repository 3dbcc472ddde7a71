# test_tls_policy - what a TLS client is offered, seen with openssl s_client:
# no session resumption (no TLS 1.2 ticket, no cached session), and on the
# client-facing services (pop3 after STLS, pop3s) only AEAD suites with
# ECDHE in TLS 1.2 (the broader port-25 policy is covered by test-tls.c).
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


def cipher_result(srv, mode, cipher):
    """The TLS 1.2 suite negotiated when the client offers only `cipher`,
    or None when the server refuses the handshake."""
    rc, out = s_client(srv, mode, "-tls1_2", "-cipher", cipher)
    line = handshake_line(out)
    if rc != 0 or line is None or "Cipher is (NONE)" in line:
        return None
    return line.split("Cipher is ", 1)[1].strip()


@pytest.fixture
def rsa_server(tern_factory):
    """A server with an RSA certificate, so that suites with RSA key
    exchange or RSA signatures could be chosen if they were offered."""
    probe = tern_factory(accounts=False)
    cert, key = th.make_cert(probe.work_dir, "rsa", "mail.test.example")
    tern = tern_factory({"tls.cert": cert, "tls.key": key})
    return tern.start()


@pytest.mark.parametrize("mode", ["stls", "implicit"])
def test_client_services_refuse_cbc_and_rsa_key_exchange(rsa_server, mode):
    # CBC with RSA key exchange, AEAD with RSA key exchange, CBC with ECDHE
    for cipher in ("AES128-SHA", "AES256-GCM-SHA384", "ECDHE-RSA-AES128-SHA256",
                   "ECDHE-RSA-AES256-SHA"):
        assert cipher_result(rsa_server, mode, cipher) is None, cipher
    for cipher in ("ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-AES256-GCM-SHA384",
                   "ECDHE-RSA-CHACHA20-POLY1305"):
        assert cipher_result(rsa_server, mode, cipher) == cipher
    # a client offering everything gets an AEAD suite with ECDHE
    got = cipher_result(rsa_server, mode, "ALL")
    assert got is not None and got.startswith("ECDHE-RSA-") and \
        ("GCM" in got or "CHACHA20" in got), got
    # the refusals cost nothing: a real session still works
    p = th.pop_ssl(rsa_server.pop3s_port)
    assert p.stat() == (0, 0)
    p.quit()


def test_generated_ec_certificate_offers_aead_only(pop3_server):
    _, srv = pop3_server
    assert cipher_result(srv, "implicit", "ECDHE-ECDSA-AES128-SHA") is None
    assert cipher_result(srv, "implicit", "ECDHE-ECDSA-AES256-SHA384") is None
    assert cipher_result(srv, "implicit", "ECDHE-ECDSA-AES128-GCM-SHA256") == \
        "ECDHE-ECDSA-AES128-GCM-SHA256"
    assert cipher_result(srv, "stls", "ECDHE-ECDSA-CHACHA20-POLY1305") == \
        "ECDHE-ECDSA-CHACHA20-POLY1305"


def test_tls13_still_works(pop3_server):
    _, srv = pop3_server
    for mode in ("stls", "implicit"):
        rc, out = s_client(srv, mode, "-tls1_3")
        assert rc == 0, out
        assert handshake_line(out).startswith("New, TLSv1.3"), out
