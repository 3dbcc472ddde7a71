# test_pop3_clients - real POP3 client programs against tern: curl, fetchmail,
# openssl s_client (STLS with TLS 1.2 and 1.3; TLS 1.1 refused).
import shutil
import subprocess

import pytest

import tern_harness as th


def run(argv, input=None, env=None, timeout=None):
    return subprocess.run(argv, input=input, capture_output=True,
                          timeout=timeout or th.TIMEOUT * 2, env=env)


@pytest.fixture
def three(pop3_server):
    tern, srv = pop3_server
    msgs = [th.make_message(1), th.make_message(2, body=b"x\n.\n..y\n"),
            th.make_message(3, extra_lines=40)]
    return tern, srv, tern.import_mbox(th.USER, msgs)


# ---------------------------------------------------------------- curl

def curl(url, *extra):
    """One curl run: a new POP3 session of demo@, ended with QUIT. The
    server releases the maildrop before answering QUIT, so back-to-back
    runs never meet [IN-USE]."""
    argv = ["curl", "-v", "-s", "-S", "-k", "--max-time", str(int(th.TIMEOUT)),
            "-u", "%s:%s" % (th.USER, th.PASSWORD)] + list(extra) + [url]
    p = run(argv)
    assert p.returncode == 0, (argv, p.stderr)
    return p.stdout


@pytest.mark.skipif(not shutil.which("curl"), reason="curl not installed")
@pytest.mark.parametrize("scheme", ["pop3", "pop3s"])
def test_curl_list_and_retr(three, scheme):
    _, srv, stored = three
    if scheme == "pop3":
        base = "pop3://127.0.0.1:%d/" % srv.pop3_port
        extra = ["--ssl-reqd"]
    else:
        base = "pop3s://127.0.0.1:%d/" % srv.pop3s_port
        extra = []
    listing = curl(base, *extra)
    assert listing == b"".join(b"%d %d\r\n" % (i + 1, len(m)) for i, m in enumerate(stored))
    for i, m in enumerate(stored):
        assert curl(base + str(i + 1), *extra) == m
    uidl = curl(base, "-X", "UIDL", *extra)
    assert [l.split(b" ")[0] for l in uidl.splitlines()] == [b"1", b"2", b"3"]
    p = th.pop_ssl(srv.pop3s_port)
    assert th.uidl_map(p) == {int(a): b for a, b in (l.split(b" ") for l in uidl.splitlines())}
    p.quit()


@pytest.mark.skipif(not shutil.which("curl"), reason="curl not installed")
def test_curl_refuses_plaintext_when_server_does(three):
    _, srv, _ = three
    # without --ssl-reqd curl would send the password in the clear: tern says no
    p = run(["curl", "-s", "--max-time", str(int(th.TIMEOUT)), "-u",
             "%s:%s" % (th.USER, th.PASSWORD), "pop3://127.0.0.1:%d/" % srv.pop3_port])
    assert p.returncode == 67, p.stderr  # CURLE_LOGIN_DENIED, not a crash or a timeout
    assert p.stdout == b""


@pytest.mark.skipif(not shutil.which("curl"), reason="curl not installed")
def test_curl_wrong_password(three):
    _, srv, _ = three
    p = run(["curl", "-s", "-k", "--max-time", str(int(th.TIMEOUT)), "-u",
             "%s:wrong" % th.USER, "pop3s://127.0.0.1:%d/" % srv.pop3s_port])
    assert p.returncode == 67  # CURLE_LOGIN_DENIED
    assert p.stdout == b""


# ---------------------------------------------------------------- fetchmail

@pytest.mark.skipif(not shutil.which("fetchmail"), reason="fetchmail not installed")
@pytest.mark.parametrize("implicit_tls", [False, True], ids=["stls", "pop3s"])
def test_fetchmail_downloads_and_deletes(three, implicit_tls):
    tern, srv, stored = three
    port = srv.pop3s_port if implicit_tls else srv.pop3_port
    p, got = th.fetchmail(tern, port, implicit_tls)
    log = p.stdout.decode(errors="replace") + p.stderr.decode(errors="replace")
    assert p.returncode == 0, log
    assert len(got) == 3, log
    # fetchmail hands each message to the MDA with LF line ends (plus its own
    # Received: header on top): every original appears whole, exactly once
    originals = [m.replace(b"\r\n", b"\n") for m in stored]
    for o in originals:
        assert sum(1 for g in got if o in g) == 1, (o, got)
    # --nokeep: the server's INBOX is empty now
    pop = th.pop_ssl(srv.pop3s_port)
    assert pop.stat() == (0, 0)
    pop.quit()
    # and a second run, at once, finds nothing
    p, got = th.fetchmail(tern, port, implicit_tls)
    assert p.returncode == 1, p.stdout + p.stderr  # PS_NOMAIL
    assert got == []


# ---------------------------------------------------------------- openssl s_client

def s_client(port, *extra, script=None):
    if script is None:
        script = "USER %s\nPASS %s\nSTAT\nQUIT\n" % (th.USER, th.PASSWORD)
    argv = ["openssl", "s_client", "-starttls", "pop3", "-connect", "127.0.0.1:%d" % port,
            "-brief", "-ign_eof", "-crlf"] + list(extra)
    p = run(argv, input=script.encode())
    return p, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


@pytest.mark.parametrize("version", ["-tls1_2", "-tls1_3"])
def test_openssl_s_client_starttls(three, version):
    _, srv, stored = three
    p, out, err = s_client(srv.pop3_port, version)
    # (its exit status depends on whether the server sent close_notify)
    want = {"-tls1_2": "TLSv1.2", "-tls1_3": "TLSv1.3"}[version]
    assert "Protocol version: %s" % want in err, err
    lines = out.replace("\r\n", "\n").splitlines()
    assert any(l.startswith("+OK 3 %d" % sum(map(len, stored))) for l in lines), out
    assert not any(l.startswith("-ERR") for l in lines), out


def test_openssl_s_client_tls1_1_refused(three):
    _, srv, _ = three
    # let the client try TLS 1.1 (SECLEVEL=0), so the refusal is the server's
    p, out, err = s_client(srv.pop3_port, "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0")
    assert p.returncode != 0
    assert "Protocol version" not in err
    assert "+OK 3" not in out
    # and the server still serves others
    pop = th.pop_stls(srv.pop3_port)
    assert pop.stat()[0] == 3
    pop.quit()
