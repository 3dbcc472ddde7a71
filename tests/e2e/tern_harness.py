# tern_harness - start a real `tern serve` on free loopback ports with a fresh
# data folder, run `tern` subcommands against it, speak raw POP3 and SMTP
# to it, and load it with concurrent SMTP clients; IMAP with imaplib and a
# raw client. Used by the e2e tests through the fixtures in conftest.py,
# smtp_tern() and imap_tern().
import base64
import contextlib
import glob
import os
import pwd
import re
import shutil
import signal
import smtplib
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TERN_BIN = os.environ.get("TERN_BIN", os.path.join(REPO, "build", "tern"))
SANITIZED = os.environ.get("TERN_SANITIZED", "") not in ("", "0")
# Everything is slower under ASan; be generous there.
SLOW = 4.0 if SANITIZED else 1.0
TIMEOUT = 15.0 * SLOW
AS_ROOT = os.geteuid() == 0

PASSWORD = "Correct-Horse-9"
PASSWORD2 = "Battery-Staple-7"
USER = "demo@localhost"
USER2 = "demo2@localhost"

SANITIZER_MARKERS = ("AddressSanitizer", "runtime error:", "LeakSanitizer")


_handed_out = set()


def _ephemeral_range():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            lo, hi = (int(x) for x in f.read().split())
            return lo, hi
    except (OSError, ValueError):
        return 32768, 60999


def _worker_slice(lo, hi):
    """[lo, hi], or under pytest-xdist (`make e2e` runs test files in
    parallel) worker gwN's own Nth of PYTEST_XDIST_WORKER_COUNT equal
    slices of it: two workers of one run never hand out the same port,
    so a test that expects nothing on a port it chose finds nothing."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    count = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1") or "1")
    if not re.fullmatch(r"gw\d+", worker) or count < 2:
        return lo, hi
    n = int(worker[2:]) % count
    width = (hi - lo + 1) // count
    return lo + n * width, lo + (n + 1) * width - 1


def free_port():
    """A loopback port that is free now, never handed out before in this
    process (nor by another worker of a parallel run), and outside the
    kernel's ephemeral range: a port from bind(0) can be taken again by
    the very next client connection's local end before the server binds
    it (EADDRINUSE, a flaky start)."""
    import random
    lo, hi = _ephemeral_range()
    if lo - 1 > 20000:
        candidates = (20000, lo - 1)
    else:
        candidates = (hi + 1, 65535) if hi < 65000 else (1024, 65535)
    candidates = _worker_slice(*candidates)
    for _ in range(200):
        port = random.randint(*candidates)
        if port in _handed_out:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    raise RuntimeError("no free loopback port")


@contextlib.contextmanager
def exclusive(name):
    """Hold the machine-wide lock NAME (a file in the system's temporary
    folder) while inside, for what a test cannot get a copy of per
    worker, such as fixed ports (the demo's; port 25, which MX delivery
    always uses): every test that takes the same lock, in another worker
    of this run or in another run on this machine, waits its turn. Hold
    one such lock at a time."""
    import fcntl
    path = os.path.join(tempfile.gettempdir(), "tern-e2e-%s.lock" % name)
    try:  # read-only: a lock file another user made is still usable
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        fd = os.open(path, os.O_RDONLY | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def sanitizer_lines(text):
    return [l for l in text.splitlines() if any(m in l for m in SANITIZER_MARKERS)]


def tls_client_context(minimum=None, maximum=None):
    """A client context that accepts the server's self-signed certificate."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if minimum is not None:
        ctx.minimum_version = minimum
    if maximum is not None:
        ctx.maximum_version = maximum
    return ctx


# ---------------------------------------------------------------- certificates


def server_cert_sha256(port):
    """SHA-256 of the certificate the pop3s listener on `port` presents."""
    import hashlib
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as s:
        with tls_client_context().wrap_socket(s) as t:
            der = t.getpeercert(binary_form=True)
            t.recv(100)  # the greeting
    return hashlib.sha256(der).hexdigest()


def pem_sha256(path):
    """SHA-256 of the first certificate of a PEM file."""
    import hashlib
    with open(path) as f:
        text = f.read()
    first = text[:text.index("-----END CERTIFICATE-----") + 25]
    return hashlib.sha256(ssl.PEM_cert_to_DER_cert(first)).hexdigest()


def make_cert(dirpath, name, cn):
    """A self-signed RSA pair DIRPATH/NAME.crt and .key, both 0644."""
    cert = os.path.join(dirpath, name + ".crt")
    key = os.path.join(dirpath, name + ".key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                    "-keyout", key, "-out", cert, "-subj", "/CN=" + cn, "-days", "2"],
                   check=True, capture_output=True)
    os.chmod(cert, 0o644)
    os.chmod(key, 0o644)  # a throwaway test key that `nobody` must read
    return cert, key


# ---------------------------------------------------------------- messages

MBOX_FROM = b"From sender@example.org Thu Nov 26 10:00:00 2026\n"


def make_message(i, body=None, subject=None, extra_lines=0):
    """A small RFC 5322 message with LF line ends (as a file on disk has)."""
    subject = subject if subject is not None else "Test message %d" % i
    if body is None:
        body = b"Hello %d.\nThis is line two of message %d.\nBye.\n" % (i, i)
        for n in range(extra_lines):
            body += b"Extra line %d of message %d, some padding text here.\n" % (n, i)
    head = (
        b"From: Sender <sender@example.org>\n"
        b"To: Demo <demo@localhost>\n"
        b"Subject: " + subject.encode() + b"\n"
        b"Date: Thu, 26 Nov 2026 10:00:00 +0000\n"
        b"Message-ID: <msg-%d@example.org>\n"
        b"MIME-Version: 1.0\n"
        b"Content-Type: text/plain; charset=us-ascii\n"
        b"\n" % i
    )
    return head + body


def big_message(i, size):
    """A message of about `size` bytes, 76-character lines, deterministic
    but not repetitive at line level."""
    import hashlib
    lines = []
    total = 0
    n = 0
    seed = b"big-%d" % i
    while total < size:
        h = hashlib.sha256(seed + b"%d" % n).hexdigest()
        line = (b"%08d " % n) + (h + h).encode()[:67] + b"\n"
        lines.append(line)
        total += len(line) + 1
        n += 1
    return make_message(i, body=b"".join(lines), subject="Big message %d" % i)


def crlf(msg):
    """What the store keeps and POP3 serves: CRLF line ends."""
    return msg.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def mbox_bytes(messages):
    out = []
    for m in messages:
        assert not m.startswith(b"From ") and b"\nFrom " not in m
        if not m.endswith(b"\n"):
            m += b"\n"
        out.append(MBOX_FROM + m + b"\n")
    return b"".join(out)


def is_imported_line(line):
    """The importer's per-message line "imported MAILBOX UID SOURCE", not
    its closing summary "imported N messages into ..."."""
    if isinstance(line, bytes):
        line = line.decode("utf-8", "replace")
    return re.match(r"imported \S+ \d+ \S", line) is not None and " messages into " not in line


# ---------------------------------------------------------------- tern itself

# {address: hash}: what the first `tern user add` of this process stored
# for demo@ and demo2@ (Tern.setup_accounts)
_stored_hashes = {}


class Tern:
    """One data folder and the `tern` commands that work on it; can run a
    server on it (several times, for restarts)."""

    def __init__(self, extra_sets=None):
        if not os.path.exists(TERN_BIN):
            raise RuntimeError("TERN_BIN %s does not exist" % TERN_BIN)
        # tern creates the data folder itself (it gives [server] user only
        # a folder it created), in a parent that nobody may cross; pytest's
        # tmp_path sits under a 0700 root folder nobody can't cross.
        self.top_dir = tempfile.mkdtemp(prefix="tern-e2e-")
        os.chmod(self.top_dir, 0o711)
        self.data_dir = os.path.join(self.top_dir, "data")
        # the sendmail socket's folder: one per server, never /run/tern
        self.public_dir = os.path.join(self.top_dir, "public")
        self.work_dir = tempfile.mkdtemp(prefix="tern-e2e-work-")
        os.chmod(self.work_dir, 0o755)
        self.pop3_port = free_port()
        self.pop3s_port = free_port()
        self.sets = {
            "server.data_dir": self.data_dir,
            "server.public_dir": self.public_dir,
            "server.hostname": "mail.test.example",
            "server.threads": "2",
            "server.shutdown_timeout": "3",
            "listen.pop3": "127.0.0.1:%d" % self.pop3_port,
            "listen.pop3s": "127.0.0.1:%d" % self.pop3s_port,
            "listen.smtp": "",
            "listen.submission": "",
            "listen.submissions": "",
            "listen.imap": "",
            "listen.imaps": "",
            "log.level": "info",
            # mail for other domains has no way out (a closed port): it is
            # tried and stays deferred; test_relay.py gives real routes
            "queue.relayhost": "127.0.0.1:1",
        }
        if AS_ROOT:
            self.sets["server.user"] = "nobody"
        if extra_sets:
            self.sets.update(extra_sets)
        self.servers = []
        self.cli_stderr = []
        self._counter = 0

    def enable_smtp(self, pregreet=0):
        """Serve smtp, submission and submissions too, each on a free
        port (self.smtp_port, .submission_port, .submissions_port), with
        the pregreet delay given (0: off, so tests need not wait)."""
        self.smtp_port = free_port()
        self.submission_port = free_port()
        self.submissions_port = free_port()
        self.sets.update({
            "listen.smtp": "127.0.0.1:%d" % self.smtp_port,
            "listen.submission": "127.0.0.1:%d" % self.submission_port,
            "listen.submissions": "127.0.0.1:%d" % self.submissions_port,
            "smtp.pregreet_delay": str(pregreet),
        })

    def enable_imap(self):
        """Serve imap and imaps too, each on a free port (self.imap_port,
        self.imaps_port)."""
        self.imap_port = free_port()
        self.imaps_port = free_port()
        self.sets.update({
            "listen.imap": "127.0.0.1:%d" % self.imap_port,
            "listen.imaps": "127.0.0.1:%d" % self.imaps_port,
        })

    # -- commands

    def set_args(self, sets=None):
        merged = dict(self.sets)
        if sets:
            merged.update(sets)
        args = []
        for k, v in merged.items():
            args += ["--set", "%s=%s" % (k, v)]
        return args

    def cmd(self, *args, input=None, check=True, timeout=None, sets=None):
        """Run `tern ARGS... --set ...`; returns CompletedProcess (text)."""
        argv = [TERN_BIN] + list(args) + self.set_args(sets)
        p = subprocess.run(argv, input=input, capture_output=True, text=True,
                           timeout=timeout or TIMEOUT * 4)
        self.cli_stderr.append(" ".join(argv) + "\n" + p.stderr)
        if check and p.returncode != 0:
            raise AssertionError("%s exited %d\nstdout: %s\nstderr: %s" %
                                 (" ".join(args), p.returncode, p.stdout, p.stderr))
        return p

    def popen(self, *args, sets=None, **kw):
        argv = [TERN_BIN] + list(args) + self.set_args(sets)
        return subprocess.Popen(argv, **kw)

    def make_data_dir(self):
        """Create the data folder owned by the server's user, as a package
        installation creates /var/lib/tern (tern itself gives that user
        only a folder it created)."""
        os.mkdir(self.data_dir, 0o700)
        if AS_ROOT:
            import pwd
            nobody = pwd.getpwnam("nobody")
            os.chown(self.data_dir, nobody.pw_uid, nobody.pw_gid)

    def setup_accounts(self):
        """Domain localhost, demo@ (PASSWORD) and demo2@ (PASSWORD2). The
        first time in this process `tern user add` hashes the passwords
        itself; after that the hashes it stored are given again with
        --hash: the same {ARGON2ID} hashes, a login still runs the full
        check, and each test spares two argon2id hashes (seconds under
        ASan; test_cli_password covers adding a user with a password)."""
        self.cmd("domain", "add", "localhost")
        for user, password in ((USER, PASSWORD), (USER2, PASSWORD2)):
            if user in _stored_hashes:
                self.cmd("user", "add", user, "--hash", _stored_hashes[user])
            else:
                self.cmd("user", "add", user, input=password + "\n")
                _stored_hashes[user] = self.stored_hash(user)

    def stored_hash(self, address):
        """The hash DATA/directory.db holds for address (read-only)."""
        import sqlite3
        db = sqlite3.connect("file:%s?mode=ro" % os.path.join(self.data_dir, "directory.db"),
                             uri=True)
        try:
            row = db.execute("SELECT hash FROM accounts WHERE address = ?", (address,)).fetchone()
        finally:
            db.close()
        assert row and row[0].startswith("{ARGON2ID}"), row
        return row[0]

    def source_path(self, name):
        self._counter += 1
        return os.path.join(self.work_dir, "%d-%s" % (self._counter, name))

    def write_mbox(self, messages):
        path = self.source_path("inbox.mbox")
        with open(path, "wb") as f:
            f.write(mbox_bytes(messages))
        os.chmod(path, 0o644)
        return path

    def import_mbox(self, address, messages):
        """Import LF messages; returns the CRLF form the store must hold."""
        path = self.write_mbox(messages)
        p = self.cmd("import", "mbox", address, path)
        imported = [l for l in p.stdout.splitlines() if is_imported_line(l)]
        assert len(imported) == len(messages), p.stdout
        return [crlf(m) for m in messages]

    def import_maildir(self, address, files, sets=None):
        """files: {name-in-new-or-cur: bytes}; e.g. {"cur/1.x:2,S": msg}."""
        root = self.source_path("Maildir")
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(root, sub))
            os.chmod(os.path.join(root, sub), 0o755)
        os.chmod(root, 0o755)
        for name, data in files.items():
            path = os.path.join(root, name)
            with open(path, "wb") as f:
                f.write(data)
            os.chmod(path, 0o644)
        return self.cmd("import", "maildir", address, root, sets=sets)

    def queue_list(self):
        """What `tern queue list` prints."""
        return self.cmd("queue", "list").stdout

    def wait_queue(self, predicate, timeout=None):
        """Wait until predicate(`tern queue list`'s output) holds; returns
        that output (an AssertionError with the last one if it never does)."""
        out = [""]

        def check():
            out[0] = self.queue_list()
            return predicate(out[0])
        assert wait_for(check, timeout), out[0]
        return out[0]

    # -- server

    def new_ports(self):
        """Move the listeners to other free ports (after a lost bind race)."""
        self.pop3_port = free_port()
        self.pop3s_port = free_port()
        self.sets["listen.pop3"] = "127.0.0.1:%d" % self.pop3_port
        self.sets["listen.pop3s"] = "127.0.0.1:%d" % self.pop3s_port
        if self.sets.get("listen.smtp"):
            self.enable_smtp(self.sets["smtp.pregreet_delay"])
        if self.sets.get("listen.imap"):
            self.enable_imap()

    def start(self, sets=None, wait=True, nofile=None):
        """Start `tern serve` (with nofile: under that descriptor limit,
        soft and hard). Should another process have taken one of our
        ports between free_port() and the bind (the server then exits with
        "Address already in use"), move to fresh ports and start again."""
        for attempt in range(3):
            srv = Server(self, sets, nofile)
            self.servers.append(srv)
            if not wait:
                return srv
            try:
                srv.wait_ready()
                return srv
            except AssertionError:
                lost_race = (srv.proc.poll() is not None and
                             "Address already in use" in srv.stderr_text() and
                             not (sets and any(k.startswith("listen.") for k in sets)))
                if not lost_race or attempt == 2:
                    raise
                self.new_ports()

    def cleanup(self):
        problems = []
        for srv in self.servers:
            srv.stop_quietly()
            text = srv.stderr_text()
            problems += sanitizer_lines(text)
            # DESIGN 7: a log never holds a password (nor its base64)
            for user, secret in ((USER, PASSWORD), (USER2, PASSWORD2)):
                token = ("\0%s\0%s" % (user, secret)).encode()
                for form in (secret, base64.b64encode(secret.encode()).decode(),
                             base64.b64encode(token).decode()):
                    if form in text:
                        problems.append("server log contains a password: %s" % form)
        if SANITIZED:
            for text in self.cli_stderr:
                problems += sanitizer_lines(text)
        shutil.rmtree(self.top_dir, ignore_errors=True)
        shutil.rmtree(self.work_dir, ignore_errors=True)
        return problems


def queue_entries(listing):
    """`tern queue list` as {id: {address: (state, "local"/"remote")}}."""
    out = {}
    current = None
    for line in listing.splitlines():
        if line.startswith("    "):
            state, kind, address = line.split()[:3]
            out[current][address] = (state, kind)
        elif line and not line.startswith(("ID ", "-- ", "the queue is empty")):
            current = line.split()[0]
            out[current] = {}
    return out


@contextlib.contextmanager
def smtp_tern(extra_sets=None, users=()):
    """For module-scoped fixtures: a Tern serving SMTP too (pregreet off),
    with domain localhost, demo@ and demo2@, and each address of `users`
    (password PASSWORD); no server started yet. On leaving, every server
    is stopped and the folders removed; sanitizer reports or a password
    in a log then fail (as tern_factory's teardown does)."""
    t = Tern(extra_sets)
    try:
        t.enable_smtp()
        t.setup_accounts()
        for address in users:
            t.cmd("user", "add", address, input=PASSWORD + "\n")
        yield t
    finally:
        problems = t.cleanup()
    assert not problems, "\n".join(problems)


@contextlib.contextmanager
def imap_tern(extra_sets=None, users=(), smtp=False):
    """For module-scoped fixtures: a running server with imap and imaps
    (and smtp, submission and submissions with `smtp`), domain localhost,
    demo@ and demo2@ and each address of `users` (password PASSWORD).
    Yields the Tern (its .server is the running Server). On leaving, as
    smtp_tern."""
    t = Tern(extra_sets)
    try:
        t.enable_imap()
        if smtp:
            t.enable_smtp()
        t.setup_accounts()
        for address in users:
            t.cmd("user", "add", address, input=PASSWORD + "\n")
        t.server = t.start()
        yield t
    finally:
        problems = t.cleanup()
    assert not problems, "\n".join(problems)


class Server:
    """A running `tern serve`; its stderr goes to a file we can read."""

    def __init__(self, tern, sets=None, nofile=None):
        self.tern = tern
        self.log_path = os.path.join(tern.work_dir, "serve-%d.log" % len(tern.servers))
        self.log = open(self.log_path, "wb")
        env = dict(os.environ)
        if SANITIZED:
            env.setdefault("ASAN_OPTIONS", "detect_leaks=1")
        preexec = None
        if nofile is not None:
            import resource

            def preexec():
                resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))
        self.proc = tern.popen("serve", sets=sets, stdin=subprocess.DEVNULL,
                               stdout=self.log, stderr=self.log, env=env,
                               preexec_fn=preexec)
        self.pop3_port = tern.pop3_port
        self.pop3s_port = tern.pop3s_port

    def stderr_text(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def wait_ready(self, timeout=None):
        deadline = time.monotonic() + (timeout or TIMEOUT)
        while time.monotonic() < deadline:
            if 'msg="ready"' in self.stderr_text():
                return
            if self.proc.poll() is not None:
                raise AssertionError("tern serve exited %s before ready:\n%s" %
                                     (self.proc.returncode, self.stderr_text()))
            time.sleep(0.05)
        raise AssertionError("tern serve not ready after %ss:\n%s" %
                             (timeout or TIMEOUT, self.stderr_text()))

    def terminate(self, timeout=None):
        """SIGTERM; returns (exit status, seconds it took)."""
        t0 = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(timeout=timeout or TIMEOUT)
        return rc, time.monotonic() - t0

    def kill9(self):
        self.proc.kill()
        self.proc.wait(timeout=TIMEOUT)

    def stop_quietly(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


# ---------------------------------------------------------------- raw POP3


class Raw:
    """A POP3 client on a bare socket, for what poplib won't do (pipelining,
    STLS injection, slow reading). Reads exactly what it is asked for."""

    def __init__(self, port, tls=False, timeout=None, rcvbuf=None):
        if rcvbuf:
            # set before connect so the TCP window starts small
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
            self.sock.settimeout(timeout or TIMEOUT)
            self.sock.connect(("127.0.0.1", port))
        else:
            self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout or TIMEOUT)
        if tls:
            self.sock = tls_client_context().wrap_socket(self.sock)
        self.buf = b""

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError("connection closed; unread: %r" % self.buf[-200:])
        self.buf += data

    def readline(self):
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                line, self.buf = self.buf[:i + 2], self.buf[i + 2:]
                return line
            if len(self.buf) > 1 << 20:
                raise AssertionError("line too long from server")
            self._fill()

    def readline_unbuffered(self):
        """Byte by byte, so nothing after the line is consumed (before STLS)."""
        assert not self.buf
        line = b""
        while not line.endswith(b"\r\n"):
            c = self.sock.recv(1)
            if not c:
                raise EOFError("closed after %r" % line)
            line += c
        return line

    def read_multi(self):
        """Lines of a multi-line body up to the terminating '.', unstuffed."""
        lines = []
        while True:
            line = self.readline()
            if line == b".\r\n":
                return lines
            if line.startswith(b"."):
                line = line[1:]
            lines.append(line)

    def cmd(self, line):
        self.send(line.encode() + b"\r\n" if isinstance(line, str) else line + b"\r\n")
        return self.readline()

    def cmd_multi(self, line):
        status = self.cmd(line)
        assert status.startswith(b"+OK"), (line, status)
        return self.read_multi()

    def is_closed(self, timeout=None):
        """True when the server closes the connection (EOF) within timeout."""
        self.sock.settimeout(timeout or TIMEOUT)
        try:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    return True
                self.buf += data
        except (ConnectionResetError, BrokenPipeError):
            return True
        except (socket.timeout, TimeoutError):
            return False
        except ssl.SSLError:
            return True

    def login(self, user=USER, password=PASSWORD):
        """AUTH PLAIN with initial response (RFC 5034)."""
        token = base64.b64encode(b"\0" + user.encode() + b"\0" + password.encode())
        r = self.cmd(b"AUTH PLAIN " + token)
        assert r.startswith(b"+OK"), r
        return r


def as_server_user(script, *args):
    """Run a Python script as [server] user (nobody when the tests run
    as root), so that what it touches in the data folder (queue.db and
    its WAL) stays the server's."""
    pw = pwd.getpwnam("nobody") if AS_ROOT else pwd.getpwuid(os.geteuid())

    def drop():
        os.setgid(pw.pw_gid)
        os.setuid(pw.pw_uid)
    subprocess.run([sys.executable, "-c", script] + list(args), check=True,
                   preexec_fn=drop if AS_ROOT else None, timeout=TIMEOUT)


def wait_for(predicate, timeout=None, interval=0.1):
    deadline = time.monotonic() + (timeout or TIMEOUT)
    while time.monotonic() < deadline:
        v = predicate()
        if v:
            return v
        time.sleep(interval)
    return predicate()


def retr_all(pop):
    """Every message of a poplib session, CRLF-joined as the server holds it."""
    count, _ = pop.stat()
    return [b"\r\n".join(pop.retr(i)[1]) + b"\r\n" for i in range(1, count + 1)]


def uidl_map(pop):
    _, lines, _ = pop.uidl()
    out = {}
    for l in lines:
        n, uid = l.split(b" ", 1)
        out[int(n)] = uid
    return out


LOG_KV = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S+)')


# ---------------------------------------------------------------- SMTP


class RawSMTP(Raw):
    """An SMTP client on a bare socket, for what smtplib won't do
    (pipelining, BDAT, smuggling attempts): sends bytes as given, reads
    whole replies."""

    def __init__(self, port, tls=False, timeout=None, greet=True):
        super().__init__(port, tls=tls, timeout=timeout)
        if greet:
            code, _ = self.reply()
            assert code == 220, code

    def send(self, data):
        super().send(data.encode() if isinstance(data, str) else data)

    def line(self):
        return self.readline()[:-2].decode("utf-8", "replace")

    def reply(self):
        """(code, [text of each line]) of the next reply."""
        lines = []
        while True:
            line = self.line()
            lines.append(line[4:])
            if line[3:4] != "-":
                return int(line[:3]), lines

    def cmd(self, line):
        self.send(line + "\r\n")
        return self.reply()


def smtp_trace(stored):
    """(Return-Path line, Received field, the rest) of a delivered message."""
    assert stored.startswith(b"Return-Path: <"), stored[:200]
    rp, rest = stored.split(b"\r\n", 1)
    assert rest.startswith(b"Received: from "), rest[:200]
    end = 0
    while True:
        end = rest.index(b"\r\n", end) + 2
        if rest[end:end + 1] != b"\t":
            return rp, rest[:end], rest[end:]


def smtp_submission(port, user=USER, password=PASSWORD):
    """smtplib on a submission port, upgraded with STARTTLS, logged in."""
    s = smtplib.SMTP("127.0.0.1", port, timeout=TIMEOUT)
    s.starttls(context=tls_client_context())
    s.ehlo("laptop.example")
    s.login(user, password)
    return s


class SmtpLoad:
    """Concurrent SMTP clients: `clients` threads with smtplib, each
    taking jobs from next_job() (called under a lock) and sending them
    over sessions of `per_session` messages, until next_job() returns
    None or a connection fails (the client then stops: the server was
    killed). A job is (key, sender, [recipients], message). Outcomes,
    each under the job's key: `acked` the queue id of a 250 to the end
    of data, `refused` the first reply that was not 2xx/354, `lost` the
    error that cut the transaction (no reply: the message may or may not
    be queued). `connect` makes a session ready for MAIL (default: smtplib
    on port, EHLO helo), e.g. smtp_submission for a logged-in one."""

    def __init__(self, port, next_job, clients, per_session=10, helo="load.example",
                 connect=None):
        self.port = port
        self.connect = connect
        self.next_job = next_job
        self.per_session = per_session
        self.helo = helo
        self.lock = threading.Lock()
        self.acked = {}
        self.refused = {}
        self.lost = {}
        self.threads = [threading.Thread(target=self._client, daemon=True)
                        for _ in range(clients)]

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def join(self, timeout=None):
        deadline = time.monotonic() + (timeout or TIMEOUT * 4)
        for t in self.threads:
            t.join(max(0.0, deadline - time.monotonic()))
        assert not any(t.is_alive() for t in self.threads), "SMTP clients still running"

    def _client(self):
        session = None
        sent = 0
        while True:
            with self.lock:
                job = self.next_job()
            if job is None:
                break
            try:
                if session is None and self.connect is not None:
                    session = self.connect()
                elif session is None:
                    session = smtplib.SMTP("127.0.0.1", self.port, timeout=TIMEOUT)
                    session.ehlo(self.helo)
                kind, value = self._transaction(session, *job[1:])
                with self.lock:
                    getattr(self, kind)[job[0]] = value
                sent += 1
                if sent % self.per_session == 0:
                    session.quit()
                    session = None
            except (OSError, smtplib.SMTPException) as e:
                with self.lock:
                    if job[0] not in self.acked and job[0] not in self.refused:
                        self.lost[job[0]] = repr(e)
                break
        if session is not None:
            session.close()

    @staticmethod
    def _transaction(session, sender, rcpts, message):
        try:
            for command, arg in [(session.mail, sender)] + [(session.rcpt, r) for r in rcpts]:
                code, text = command(arg)
                if code != 250:
                    raise smtplib.SMTPResponseException(code, text)
            code, text = session.data(message)
        except smtplib.SMTPResponseException as e:
            session.rset()
            return "refused", (e.smtp_code, e.smtp_error)
        m = re.match(rb"2\.0\.0 Ok: queued as (\S+)$", text)
        if code != 250 or m is None:
            return "refused", (code, text)
        return "acked", m.group(1).decode()


def inbox_by_message_id(port, user, password=PASSWORD):
    """{Message-ID: [each stored copy]} of user's INBOX, read by POP3."""
    p = pop_stls_retry(port, user, password)
    try:
        messages = retr_all(p)
    finally:
        p.quit()
    out = {}
    for m in messages:
        ids = re.findall(rb"^Message-ID: <([^>\r\n]*)>\r$", m.split(b"\r\n\r\n", 1)[0],
                         re.M | re.I)
        assert len(ids) == 1, m[:500]
        out.setdefault(ids[0].decode(), []).append(m)
    return out


# ---------------------------------------------------------------- poplib


def pop_stls(port, user=USER, password=PASSWORD, login=True):
    """poplib on the pop3 port, upgraded with STLS, logged in with USER/PASS."""
    import poplib
    p = poplib.POP3("127.0.0.1", port, timeout=TIMEOUT)
    p.stls(context=tls_client_context())
    if login:
        p.user(user)
        p.pass_(password)
    return p


def pop_ssl(port, user=USER, password=PASSWORD, login=True):
    """poplib on the pop3s port (implicit TLS), logged in with USER/PASS."""
    import poplib
    p = poplib.POP3_SSL("127.0.0.1", port, timeout=TIMEOUT, context=tls_client_context())
    if login:
        p.user(user)
        p.pass_(password)
    return p


def pop_ssl_retry(port, user=USER, password=PASSWORD, timeout=None, _connect=None):
    """Log in, retrying while the server still holds the mailbox lock of a
    connection the client just dropped without QUIT ([IN-USE] until the
    server has seen the connection close and released it; after QUIT the
    lock is already free, see test_pop3_relogin)."""
    import poplib
    deadline = time.monotonic() + (timeout or TIMEOUT)
    while True:
        p = (_connect or pop_ssl)(port, login=False)
        try:
            p.user(user)
            p.pass_(password)
            return p
        except poplib.error_proto as e:
            p.close()
            if b"[IN-USE]" not in e.args[0] or time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def pop_stls_retry(port, user=USER, password=PASSWORD, timeout=None):
    """pop_ssl_retry on the plain port with STLS."""
    return pop_ssl_retry(port, user, password, timeout, _connect=pop_stls)


# ---------------------------------------------------------------- IMAP


def imap_stls(port, user=USER, password=PASSWORD, login=True):
    """imaplib on the imap port, upgraded with STARTTLS, logged in with
    LOGIN (unless login is False)."""
    import imaplib
    m = imaplib.IMAP4("127.0.0.1", port, timeout=TIMEOUT)
    m.starttls(ssl_context=tls_client_context())
    if login:
        m.login(user, password)
    return m


def imap_ssl(port, user=USER, password=PASSWORD, login=True):
    """imaplib on the imaps port (implicit TLS), logged in with LOGIN."""
    import imaplib
    m = imaplib.IMAP4_SSL("127.0.0.1", port, ssl_context=tls_client_context(),
                          timeout=TIMEOUT)
    if login:
        m.login(user, password)
    return m


class RawIMAP(Raw):
    """An IMAP client on a bare socket, for what imaplib won't do
    (pipelining, literals by hand, STARTTLS injection, disconnecting in a
    literal): sends bytes as given, reads responses up to a tagged one.
    Literals in responses are read whole: a line ending in {n} is joined
    with its n bytes and the rest of the response line."""

    def __init__(self, port, tls=False, timeout=None, greet=True):
        super().__init__(port, tls=tls, timeout=timeout)
        self.n = 0
        self.greeting = self.readline() if greet else None
        if greet:
            assert self.greeting.startswith(b"* OK"), self.greeting

    def next_tag(self):
        self.n += 1
        return "t%d" % self.n

    def response_line(self):
        """One response line, literals included, without the final CRLF."""
        line = self.readline()
        out = b""
        while True:
            m = re.search(rb"\{(\d+)\}\r\n$", line)
            if not m:
                return out + line[:-2]
            n = int(m.group(1))
            while len(self.buf) < n:
                self._fill()
            out += line + self.buf[:n]
            self.buf = self.buf[n:]
            line = self.readline()

    def read_until(self, tag):
        """(untagged lines, the tagged line) up to `tag`'s completion."""
        untagged = []
        tag = tag.encode() if isinstance(tag, str) else tag
        while True:
            line = self.response_line()
            if line.startswith(tag + b" "):
                return untagged, line
            untagged.append(line)

    def cmd(self, text, tag=None):
        """Send `tag text` (a tag made up when none); returns
        (untagged lines, tagged line)."""
        tag = tag or self.next_tag()
        data = text.encode() if isinstance(text, str) else text
        self.send(tag.encode() + b" " + data + b"\r\n")
        return self.read_until(tag)

    def ok(self, text):
        untagged, done = self.cmd(text)
        assert b" OK" in done[:len(done.split(b" ")[0]) + 3], (text, done)
        return untagged

    def login(self, user=USER, password=PASSWORD):
        """AUTHENTICATE PLAIN with an initial response (RFC 4959)."""
        token = base64.b64encode(b"\0" + user.encode() + b"\0" + password.encode())
        return self.ok(b"AUTHENTICATE PLAIN " + token)

    def starttls(self):
        untagged, done = self.cmd("STARTTLS")
        assert b"OK" in done, done
        assert not self.buf
        self.sock = tls_client_context().wrap_socket(self.sock)


def mutt_batch(tern, work, keys, user=USER, password=PASSWORD, folder="=INBOX", settings="",
               timeout=None):
    """mutt, in batch mode under a pseudo-terminal (`script`), opening
    `folder` of `user` over imaps and typing `keys` (push syntax, e.g.
    "<pipe-message>cat > F<enter><quit>"); `settings`: more muttrc
    lines. The server's self-signed certificate is trusted up front (no
    prompt); no caches. Files go in `work`. Returns mutt's exit status."""
    rc = os.path.join(work, "muttrc")
    certs = os.path.join(work, "certs")
    with open(certs, "wb") as f:
        for name in sorted(os.listdir(os.path.join(tern.data_dir, "tls"))):
            if name.endswith((".pem", ".crt")):
                with open(os.path.join(tern.data_dir, "tls", name), "rb") as c:
                    f.write(b"".join(re.findall(
                        rb"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----\n?",
                        c.read(), re.S)))
    with open(rc, "w") as f:
        f.write('set folder="imaps://%s@127.0.0.1:%d/"\n' % (user.replace("@", "%40"),
                                                             tern.imaps_port))
        f.write('set imap_pass="%s"\n' % password)
        f.write("set ssl_verify_host=no\nset ssl_verify_dates=no\n")
        f.write("set certificate_file=%s\n" % certs)
        f.write("set header_cache=\"\" message_cachedir=\"\"\n")
        f.write("set wait_key=no confirmappend=no confirmcreate=no mark_old=no "
                "pipe_decode=no delete=yes move=no\n")
        f.write(settings)
    cmd = "mutt -n -F %s -f '%s' -e 'push \"%s\"'" % (rc, folder, keys)
    p = subprocess.run(["script", "-qec", cmd, "/dev/null"], stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       env=dict(os.environ, TERM="vt100", HOME=work),
                       timeout=timeout or TIMEOUT)
    return p.returncode


def fetchmail(tern, port, implicit_tls, protocol="POP3", user=USER, password=PASSWORD):
    """One fetchmail run (TLS 1.2 or later: implicit, or STARTTLS/STLS)
    that fetches every message of `user` over `protocol` (POP3 or IMAP),
    deletes it on the server, and hands each to an MDA writing a file.
    Returns (CompletedProcess, [each file's bytes])."""
    home = tempfile.mkdtemp(prefix="tern-e2e-fm-", dir=tern.work_dir)
    out = os.path.join(home, "out")
    os.mkdir(out)
    rc = os.path.join(home, "fetchmailrc")
    ssl_opts = "ssl sslproto 'TLS1.2+'" if implicit_tls else "sslproto 'TLS1.2+'"
    with open(rc, "w") as f:
        f.write('set no bouncemail\n'
                'poll 127.0.0.1 service %d protocol %s auth password\n'
                '  user "%s" password "%s"\n'
                '  %s no sslcertck\n'
                '  nokeep fetchall\n'
                '  mda "/bin/sh -c \'cat > $(mktemp %s/msg.XXXXXX)\'"\n'
                % (port, protocol, user, password, ssl_opts, out))
    os.chmod(rc, 0o600)
    env = dict(os.environ, HOME=home, FETCHMAILHOME=home)
    p = subprocess.run(["fetchmail", "-f", rc, "-d0", "--nosyslog", "-v"], env=env,
                       capture_output=True, timeout=TIMEOUT * 4)
    got = []
    for path in sorted(glob.glob(os.path.join(out, "msg.*"))):
        with open(path, "rb") as f:
            got.append(f.read())
    return p, got
