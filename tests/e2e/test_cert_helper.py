# test_cert_helper - SIGHUP reloads a certificate whose key only root can
# read (Let's Encrypt's layout: archive/ 0700, privkey 0600, live/ symlinks)
# although the server runs as [server] user: the certificate helper, which
# stays root, reads the two files and hands them over. Needs root.
import hashlib
import os
import signal
import subprocess
import tempfile

import pytest

import tern_harness as th

pytestmark = pytest.mark.skipif(not th.AS_ROOT, reason="needs root (the server drops to nobody)")


def children_of(pid):
    """Pids whose parent is `pid`, with their command names."""
    out = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                stat = f.read()
        except OSError:
            continue
        # pid (comm) state ppid ...
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[1]) == pid:
            out[int(entry)] = comm
    return out


def has_exited(pid):
    """Gone, or a zombie waiting to be reaped."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
    except OSError:
        return True
    return stat[stat.rindex(")") + 2:].split()[0] in ("Z", "X")


def proc_uid(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("Uid:"):
                return int(line.split()[2])  # effective
    raise AssertionError("no Uid line")


class LetsEncrypt:
    """BASE/archive/ (0700) with certN.pem and privkeyN.pem (0600), and
    BASE/live/fullchain.pem, privkey.pem: symlinks to the current pair, as
    certbot lays them out."""

    def __init__(self):
        self.base = tempfile.mkdtemp(prefix="tern-e2e-le-")
        self.archive = os.path.join(self.base, "archive")
        self.live = os.path.join(self.base, "live")
        os.mkdir(self.archive, 0o700)
        os.mkdir(self.live, 0o755)
        os.chmod(self.base, 0o755)
        self.cert = os.path.join(self.live, "fullchain.pem")
        self.key = os.path.join(self.live, "privkey.pem")
        self.n = 0

    def renew(self, garbage_key=False):
        """A new pair in archive/, live/ pointed at it; returns the cert path."""
        self.n += 1
        cert, key = th.make_cert(self.archive, "pair%d" % self.n, "le%d.test.example" % self.n)
        if garbage_key:
            with open(key, "w") as f:
                f.write("-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n")
        os.chmod(key, 0o600)
        for target, link in ((cert, self.cert), (key, self.key)):
            tmp = link + ".new"
            os.symlink(os.path.relpath(target, self.live), tmp)
            os.replace(tmp, link)
        return cert

    def cleanup(self):
        subprocess.run(["rm", "-rf", self.base], check=False)


@pytest.fixture
def le():
    store = LetsEncrypt()
    yield store
    store.cleanup()


def test_sighup_reloads_a_root_only_key(tern_factory, le):
    first = le.renew()
    tern = tern_factory({"tls.cert": le.cert, "tls.key": le.key})
    srv = tern.start()
    # the server itself cannot read the key
    assert proc_uid(srv.proc.pid) != 0
    assert subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                           "cat", le.key], capture_output=True).returncode != 0
    assert th.server_cert_sha256(srv.pop3s_port) == th.pem_sha256(first)

    # one helper, root, holding only /dev/null, stderr and its socket
    helpers = [p for p, comm in children_of(srv.proc.pid).items() if comm == "tern-certs"]
    assert len(helpers) == 1, children_of(srv.proc.pid)
    helper = helpers[0]
    assert proc_uid(helper) == 0
    fds = {int(n): os.readlink("/proc/%d/fd/%s" % (helper, n))
           for n in os.listdir("/proc/%d/fd" % helper)}
    assert fds[0] == fds[1] == "/dev/null", fds
    assert fds[2] == os.readlink("/proc/%d/fd/2" % srv.proc.pid), fds
    others = [t for n, t in fds.items() if n > 2]
    assert len(others) == 1 and others[0].startswith("socket:"), fds

    second = le.renew()
    srv.proc.send_signal(signal.SIGHUP)
    assert th.wait_for(lambda: th.server_cert_sha256(srv.pop3s_port) == th.pem_sha256(second)), \
        srv.stderr_text()
    # STLS on the plain port serves it too
    q = th.pop_stls(srv.pop3_port)
    assert hashlib.sha256(q.sock.getpeercert(binary_form=True)).hexdigest() == \
        th.pem_sha256(second)
    q.quit()

    # a renewal with a broken key: the old certificate stays, the log says why
    le.renew(garbage_key=True)
    srv.proc.send_signal(signal.SIGHUP)
    assert th.wait_for(lambda: "certificate reload failed" in srv.stderr_text())
    line = [l for l in srv.stderr_text().splitlines() if "certificate reload failed" in l][-1]
    assert "cannot load key" in line and le.key in line, line
    assert srv.proc.poll() is None
    assert th.server_cert_sha256(srv.pop3s_port) == th.pem_sha256(second)

    # the helper goes with the server
    rc, _ = srv.terminate()
    assert rc == 0
    assert th.wait_for(lambda: has_exited(helper))


def test_helper_exits_when_the_server_is_killed(tern_factory, le):
    le.renew()
    tern = tern_factory({"tls.cert": le.cert, "tls.key": le.key})
    srv = tern.start()
    helpers = [p for p, comm in children_of(srv.proc.pid).items() if comm == "tern-certs"]
    assert len(helpers) == 1
    # SIGHUP and SIGTERM sent to every tern process do not take it away
    # before the server
    os.kill(helpers[0], signal.SIGHUP)
    os.kill(helpers[0], signal.SIGTERM)
    srv.proc.send_signal(signal.SIGHUP)
    assert th.wait_for(lambda: 'msg="certificate reloaded"' in srv.stderr_text())
    srv.kill9()
    assert th.wait_for(lambda: has_exited(helpers[0]))
    # nor does it keep the data folder's lock: a new server starts at once
    srv = tern.start()
    p = th.pop_ssl(srv.pop3s_port)
    assert p.stat() == (0, 0)
    p.quit()


def test_no_helper_for_the_generated_pair(pop3_server):
    _, srv = pop3_server
    assert "tern-certs" not in children_of(srv.proc.pid).values()


def test_pair_in_a_folder_the_server_user_owns_is_refused(tern_factory):
    """The helper reads as root: a path the server's user could redirect
    (here through the data folder, which it owns) would let it read any
    file as root, so serve refuses it by name."""
    tern = tern_factory(accounts=False)
    tern.make_data_dir()
    certs = os.path.join(tern.data_dir, "certs")
    os.mkdir(certs, 0o755)
    cert, key = th.make_cert(certs, "a", "a.test.example")
    p = subprocess.run([th.TERN_BIN, "serve"] + tern.set_args({"tls.cert": cert, "tls.key": key}),
                       capture_output=True, text=True, timeout=th.TIMEOUT * 2)
    assert p.returncode == 1, p.stderr
    assert 'msg="ready"' not in p.stderr
    assert "not reading %s as root: the server's user can change %s" % (cert, tern.data_dir) \
        in p.stderr, p.stderr
