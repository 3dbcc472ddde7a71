# test_serve - the `tern serve` process as an operator sees it: restart keeps
# UIDLs, SIGTERM exits 0 promptly, SIGHUP reloads certificates and keeps
# serving, bad configuration is refused by name, `tern check`, file modes.
import hashlib
import os
import pwd
import signal
import socket
import subprocess
import time

import pytest

import tern_harness as th


def test_restart_keeps_uidl_and_sigterm_exits_zero(tern_env):
    tern = tern_env
    srv = tern.start()
    stored = tern.import_mbox(th.USER, [th.make_message(i) for i in range(1, 5)])
    p = th.pop_ssl(srv.pop3s_port)
    before = th.uidl_map(p)
    p.quit()
    # an idle client connected does not hold the shutdown past its bound
    idle = th.Raw(srv.pop3_port)
    idle.readline()
    rc, took = srv.terminate()
    assert rc == 0, srv.stderr_text()
    assert took < 3 + 5 * th.SLOW  # shutdown_timeout=3 plus a margin
    # and it is told why it is cut (RFC 2449 8.1.2 [SYS/TEMP]), then closed
    assert idle.readline() == b"-ERR [SYS/TEMP] Server shutting down, try again later.\r\n"
    assert idle.is_closed()
    idle.close()
    srv = tern.start()
    p = th.pop_ssl(srv.pop3s_port)
    assert th.uidl_map(p) == before
    assert th.retr_all(p) == stored
    p.dele(1)
    p.quit()
    rc, _ = srv.terminate()
    assert rc == 0
    srv = tern.start()
    p = th.pop_ssl(srv.pop3s_port)
    after = th.uidl_map(p)
    assert list(after.values()) == [before[2], before[3], before[4]]
    p.quit()


def test_sigterm_lets_a_download_finish_or_cuts_it_cleanly(tern_env):
    tern = tern_env
    srv = tern.start()
    small, big = tern.import_mbox(th.USER, [th.make_message(1),
                                            th.big_message(2, 3 * 1024 * 1024)])
    # a slow reader is in the middle of RETR, with a message marked deleted
    r = th.Raw(srv.pop3s_port, tls=True, rcvbuf=8192)
    assert r.readline().startswith(b"+OK")
    r.login()
    assert r.cmd("DELE 1").startswith(b"+OK")
    r.send(b"RETR 2\r\n")
    r._fill()
    rc, took = srv.terminate()
    assert rc == 0, srv.stderr_text()
    assert took < 3 + 5 * th.SLOW  # shutdown_timeout=3 plus a margin
    # what the client got is the whole message, or a clean prefix of it
    # (big_message has no line starting with ".", so no stuffing)
    while True:
        try:
            r._fill()
        except (EOFError, ConnectionResetError, th.ssl.SSLError, OSError):
            break
    wire = r.buf
    r.close()
    assert wire.startswith(b"+OK"), wire[:100]
    body = wire.split(b"\r\n", 1)[1] if b"\r\n" in wire else b""
    complete = big + b".\r\n"
    assert complete.startswith(body[:len(complete)]), "corrupted download"
    # after a finished download at most a closing -ERR line (RFC 2449 8)
    rest = body[len(complete):]
    assert rest == b"" or (rest.startswith(b"-ERR") and rest.count(b"\r\n") == 1
                           and rest.endswith(b"\r\n")), rest
    # no QUIT: nothing was deleted, nothing lost
    srv = tern.start()
    p = th.pop_ssl(srv.pop3s_port)
    assert th.retr_all(p) == [small, big]
    p.quit()


def test_generated_certificate_is_served(pop3_server):
    tern, srv = pop3_server
    path = os.path.join(tern.data_dir, "tls", "cert.pem")
    assert os.path.exists(path)
    assert th.server_cert_sha256(srv.pop3s_port) == th.pem_sha256(path)
    # the same certificate after a restart (not regenerated)
    srv.terminate()
    srv = tern.start()
    assert th.server_cert_sha256(srv.pop3s_port) == th.pem_sha256(path)


def test_sighup_reloads_certificate_and_keeps_serving(tern_factory):
    probe = tern_factory(accounts=False)
    cert_a, key_a = th.make_cert(probe.work_dir, "a", "a.test.example")
    cert_b, key_b = th.make_cert(probe.work_dir, "b", "b.test.example")
    live_cert = os.path.join(probe.work_dir, "live.crt")
    live_key = os.path.join(probe.work_dir, "live.key")
    for src, dst in ((cert_a, live_cert), (key_a, live_key)):
        with open(src, "rb") as f, open(dst, "wb") as g:
            g.write(f.read())
        os.chmod(dst, 0o644)
    tern = tern_factory({"tls.cert": live_cert, "tls.key": live_key})
    srv = tern.start()
    tern.import_mbox(th.USER, [th.make_message(1)])
    assert th.server_cert_sha256(srv.pop3s_port) == th.pem_sha256(cert_a)
    # a session open across the reload keeps working
    p = th.pop_ssl(srv.pop3s_port)
    for src, dst in ((cert_b, live_cert), (key_b, live_key)):
        with open(src, "rb") as f, open(dst, "wb") as g:
            g.write(f.read())
    srv.proc.send_signal(signal.SIGHUP)
    assert th.wait_for(lambda: th.server_cert_sha256(srv.pop3s_port) == th.pem_sha256(cert_b))
    assert srv.proc.poll() is None
    assert p.stat()[0] == 1
    p.quit()
    # STLS on the plain port also uses the new certificate
    q = th.pop_stls_retry(srv.pop3_port)
    assert hashlib.sha256(q.sock.getpeercert(binary_form=True)).hexdigest() == th.pem_sha256(cert_b)
    assert q.stat()[0] == 1
    q.quit()


def test_sighup_with_generated_cert_keeps_serving(pop3_server):
    tern, srv = pop3_server
    path = os.path.join(tern.data_dir, "tls", "cert.pem")
    srv.proc.send_signal(signal.SIGHUP)
    assert th.wait_for(lambda: 'msg="certificate reloaded"' in srv.stderr_text())
    assert srv.proc.poll() is None
    # the generated certificate is reloaded, not regenerated
    assert th.server_cert_sha256(srv.pop3s_port) == th.pem_sha256(path)
    p = th.pop_ssl(srv.pop3s_port)
    assert p.stat() == (0, 0)
    p.quit()


def test_unknown_key_is_refused_by_name(tern_factory):
    tern = tern_factory(accounts=False)
    p = subprocess.run([th.TERN_BIN, "serve"] + tern.set_args({"server.bogus": "1"}),
                       capture_output=True, text=True, timeout=th.TIMEOUT)
    assert p.returncode != 0
    assert "bogus" in p.stderr
    assert len(p.stderr.strip().splitlines()) <= 3, p.stderr
    p = subprocess.run([th.TERN_BIN, "serve"] + tern.set_args({"pop3.idle_timeout": "soon"}),
                       capture_output=True, text=True, timeout=th.TIMEOUT)
    assert p.returncode != 0
    assert "idle_timeout" in p.stderr


def test_port_in_use_is_an_error(tern_factory):
    tern = tern_factory(accounts=False)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        busy = s.getsockname()[1]
        p = subprocess.run([th.TERN_BIN, "serve"] +
                           tern.set_args({"listen.pop3": "127.0.0.1:%d" % busy}),
                           capture_output=True, text=True, timeout=th.TIMEOUT)
    assert p.returncode != 0
    assert str(busy) in p.stderr


def test_check_prints_effective_config(tern_factory):
    tern = tern_factory(accounts=False)
    p = tern.cmd("check", sets={"pop3.idle_timeout": "77"})
    out = p.stdout
    assert "[server]" in out and "[listen]" in out and "[limits]" in out
    def value(section, key):
        cur = None
        for line in out.splitlines():
            line = line.strip()
            if line.startswith("["):
                cur = line.strip("[]")
            elif "=" in line and not line.startswith((";", "#")) and cur == section:
                k, v = line.split("=", 1)
                if k.strip() == key:
                    return v.strip()
        raise KeyError(key)
    assert value("server", "data_dir") == tern.data_dir
    assert value("listen", "pop3") == "127.0.0.1:%d" % tern.pop3_port
    assert value("listen", "smtp") in ("", '""')
    assert value("pop3", "idle_timeout") == "77"
    assert value("limits", "errors_per_session") == "20"  # a default
    p = tern.cmd("check", sets={"nosuch.key": "1"}, check=False)
    assert p.returncode != 0 and "nosuch" in p.stderr


def test_data_folder_modes(pop3_server):
    tern, srv = pop3_server
    tern.import_mbox(th.USER, [th.make_message(1)])
    p = th.pop_ssl(srv.pop3s_port)
    p.stat()
    p.quit()
    want_uid = pwd.getpwnam("nobody").pw_uid if th.AS_ROOT else os.geteuid()
    bad = []
    for root, dirs, files in os.walk(tern.data_dir):
        for name in dirs + files:
            path = os.path.join(root, name)
            st = os.lstat(path)
            if st.st_mode & 0o077:
                bad.append("%s mode %o" % (path, st.st_mode & 0o777))
            if st.st_uid != want_uid:
                bad.append("%s owner %d" % (path, st.st_uid))
    assert not bad, bad
