# test_smtp_postfix - Postfix from Debian as a real sending MTA: a private
# Postfix instance (its own config and queue folders, nothing of
# /etc/postfix or the system's mail service used, no port of its own)
# relays everything to tern's port 25 (relayhost), with opportunistic
# TLS as a default Postfix would; a message injected with Postfix's
# sendmail then appears in POP3 at tern, whole, with a Received header
# naming Postfix's EHLO; so does one to two recipients, of 400 KB; and
# the DSN request Postfix passes on stays with a message queued for a
# remote recipient (Postfix is a trusted relay here, as a smarthost's
# clients are). Postfix is a test dependency (scripts/deps.sh test): its
# absence fails, it never skips.
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import uuid

import pytest

import tern_harness as th

POSTFIX = "/usr/sbin/postfix"
SENDMAIL = "/usr/sbin/sendmail"
POSTFIX_HELO = "postfix.e2e.test"

MAIN_CF = """\
# Written by tests/e2e/test_smtp_postfix.py: a sending-only Postfix that
# hands every message to tern.
compatibility_level = 3.6
queue_directory = {top}/spool
data_directory = {top}/lib
maillog_file = {top}/maillog
maillog_file_prefixes = {top}
myhostname = {helo}
myorigin = $myhostname
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
inet_interfaces = loopback-only
inet_protocols = ipv4
relayhost = [127.0.0.1]:{port}
smtp_tls_security_level = may
"""

# Debian's master.cf without smtpd (Postfix listens on no port), the
# local delivery agents and the chroot (Debian's is /var/spool/postfix).
MASTER_CF = """\
pickup    unix  n    -      n 60   1  pickup
cleanup   unix  n    -      n -    0  cleanup
qmgr      unix  n    -      n 300  1  qmgr
tlsmgr    unix  -    -      n 1000? 1 tlsmgr
rewrite   unix  -    -      n -    -  trivial-rewrite
bounce    unix  -    -      n -    0  bounce
defer     unix  -    -      n -    0  bounce
trace     unix  -    -      n -    0  bounce
flush     unix  n    -      n 1000? 0 flush
proxymap  unix  -    -      n -    -  proxymap
smtp      unix  -    -      n -    -  smtp
relay     unix  -    -      n -    -  smtp
showq     unix  n    -      n -    -  showq
error     unix  -    -      n -    -  error
retry     unix  -    -      n -    -  error
discard   unix  -    -      n -    -  discard
anvil     unix  -    -      n -    1  anvil
scache    unix  -    -      n -    1  scache
postlog   unix-dgram n -    n -    1  postlogd
"""


class Postfix:
    """A Postfix instance in the folder `top`, its main.cf and master.cf
    the texts given (test_relay_postfix.py has one of other kinds)."""

    def __init__(self, top, main_cf, master_cf=MASTER_CF):
        self.top = top
        self.etc = os.path.join(top, "etc")
        for d in ("etc", "spool", "lib"):
            os.mkdir(os.path.join(top, d), 0o755)
        with open(os.path.join(self.etc, "main.cf"), "w") as f:
            f.write(main_cf)
        with open(os.path.join(self.etc, "master.cf"), "w") as f:
            f.write(master_cf)
        owner = self.run("/usr/sbin/postconf", "-h", "mail_owner").stdout.decode().strip()
        pw = pwd.getpwnam(owner)
        os.chown(os.path.join(top, "lib"), pw.pw_uid, pw.pw_gid)

    def run(self, program, *args, input=None):
        """Run one of Postfix's programs on this instance's configuration
        (sendmail names it with -C, the others with -c)."""
        option = "-C" if program == SENDMAIL else "-c"
        p = subprocess.run([program, option, self.etc, *args], input=input, capture_output=True,
                           timeout=th.TIMEOUT * 2)
        assert p.returncode == 0, "%s %s: exit %d: %s\n%s" % (
            program, " ".join(args), p.returncode, p.stderr, self.maillog())
        return p

    def maillog(self):
        try:
            with open(os.path.join(self.top, "maillog"), errors="replace") as f:
                return f.read()
        except OSError:
            return "(no maillog)"

    def master_pid(self):
        try:
            with open(os.path.join(self.top, "spool", "pid", "master.pid")) as f:
                return int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def start(self):
        # `postfix start` makes the queue's folders (postdrop's maildrop
        # among them) with their owners and modes, then the master
        # daemonizes.
        self.run(POSTFIX, "start")

    def stop(self):
        pid = self.master_pid()
        p = subprocess.run([POSTFIX, "-c", self.etc, "stop"], capture_output=True,
                           timeout=th.TIMEOUT * 2)
        if pid is not None and th.wait_for(lambda: not pid_alive(pid), timeout=th.TIMEOUT) is False:
            os.kill(pid, signal.SIGKILL)
        return p.returncode


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture(scope="module")
def mta():
    """(tern, postfix): tern serving, Postfix relaying to its port 25."""
    # CI installs Postfix (scripts/deps.sh test): a missing one is a
    # broken test machine, not a reason to skip.
    for path in (POSTFIX, SENDMAIL):
        assert os.access(path, os.X_OK), "%s missing: run `sh scripts/deps.sh test`" % path
    assert th.AS_ROOT, "Postfix's master runs as root: run this test as root"
    # Postfix as a trusted relay of this network (a smarthost setup): it
    # may send mail for other domains through tern too.
    with th.smtp_tern({"smtp.trusted_networks": "127.0.0.1"}) as t:
        t.start()
        # Postfix's daemons drop to its mail_owner, which must be able to
        # reach the folders (pytest's tmp_path is under a 0700 folder).
        top = tempfile.mkdtemp(prefix="tern-e2e-postfix-")
        os.chmod(top, 0o755)
        postfix = Postfix(top, MAIN_CF.format(top=top, helo=POSTFIX_HELO, port=t.smtp_port))
        try:
            postfix.start()
            yield t, postfix
        finally:
            postfix.stop()
            shutil.rmtree(top, ignore_errors=True)


def header(mark):
    return (b"From: Sender <sender@example.org>\r\n"
            b"To: Demo <demo@localhost>\r\n"
            b"Subject: " + mark.encode() + b"\r\n"
            b"Date: Tue, 01 Dec 2026 10:00:00 +0000\r\n"
            b"Message-ID: <" + mark.encode() + b"@example.org>\r\n"
            b"MIME-Version: 1.0\r\n"
            b"Content-Type: text/plain; charset=utf-8\r\n"
            b"Content-Transfer-Encoding: 8bit\r\n")


def send_through_postfix(mta, rcpts, head, body, options=(), remote=()):
    """Inject with Postfix's sendmail (with `options`, to `remote`
    addresses too); returns, for each local recipient (address,
    password), tern's stored copy once it is there: Postfix's Received
    under tern's, then the message as written."""
    t, postfix = mta
    # sendmail reads a local file: LF line ends; -i: a lone dot is text.
    postfix.run(SENDMAIL, "-i", "-f", "sender@example.org", *options, *[r for r, _ in rcpts],
                *remote, input=(head + b"\r\n" + body).replace(b"\r\n", b"\n"))
    key = head.split(b"Message-ID: <", 1)[1].split(b">", 1)[0].decode()
    stored = []
    for user, password in rcpts:
        found = th.wait_for(lambda: th.inbox_by_message_id(t.pop3_port, user, password).get(key),
                            timeout=th.TIMEOUT * 2, interval=0.2)
        assert found, "%s never arrived for %s; Postfix's log:\n%s" % (key, user, postfix.maillog())
        assert len(found) == 1, found
        rp, received, rest = th.smtp_trace(found[0])
        assert rp == b"Return-Path: <sender@example.org>"
        # tern's Received names Postfix's EHLO; Postfix used STARTTLS.
        assert received.startswith(b"Received: from " + POSTFIX_HELO.encode() + b" ([127.0.0.1])"), \
            received
        assert b"with ESMTPS id " in received, received
        assert rest.startswith(b"Received: by " + POSTFIX_HELO.encode() + b" (Postfix"), rest[:300]
        headers, stored_body = rest.split(b"\r\n\r\n", 1)
        assert stored_body == body
        for line in head.split(b"\r\n")[:-1]:
            assert line in headers.split(b"\r\n"), line
        stored.append(found[0])
    return stored


def test_postfix_relays_to_tern(mta):
    mark = "pf-" + uuid.uuid4().hex[:12]
    body = (b"Sent through Postfix.\r\n.A leading dot survives.\r\n\r\n"
            b"A line of 8-bit text: Gr\xc3\xbc\xc3\x9fe.\r\n")
    stored, = send_through_postfix(mta, [(th.USER, th.PASSWORD)], header(mark), body)
    assert b"for <demo@localhost>;" in th.smtp_trace(stored)[1]
    assert "status=sent" in mta[1].maillog()


def test_postfix_two_recipients_large(mta):
    """One transaction with two RCPTs, a message past the 256 KiB tern's
    queue keeps in memory."""
    mark = "pf-" + uuid.uuid4().hex[:12]
    body = th.crlf(th.big_message(1, 400 * 1024).split(b"\n\n", 1)[1])
    a, b = send_through_postfix(mta, [(th.USER, th.PASSWORD), (th.USER2, th.PASSWORD2)],
                                header(mark), body)
    assert a == b and b"for <" not in th.smtp_trace(a)[1]


def test_postfix_dsn_kept_in_the_queue(mta):
    """Postfix passes its sender's DSN request on (RFC 3461: ENVID, RET,
    NOTIFY, ORCPT); tern keeps it with the message queued for the remote
    recipient, for the outbound issue's bounces, and delivers the local
    copy."""
    t, _ = mta
    mark = "pf-" + uuid.uuid4().hex[:12]
    stored, = send_through_postfix(mta, [(th.USER2, th.PASSWORD2)], header(mark), b"DSN.\r\n",
                                   options=("-N", "success,delay,failure", "-V", "env-" + mark,
                                            "-R", "hdrs"),
                                   remote=["friend@remote.example"])
    ident = re.search(rb" id ([A-Z2-7]{16});", th.smtp_trace(stored)[1]).group(1).decode()
    expected = {th.USER2: ("delivered", "local"), "friend@remote.example": ("deferred", "remote")}
    entries = t.wait_queue(lambda out: th.queue_entries(out).get(ident) == expected)
    assert th.queue_entries(entries)[ident] == expected, entries
    record = os.getxattr(os.path.join(t.data_dir, "queue", "msg", ident),
                         "user.tern.envelope").decode()
    lines = record.splitlines()
    assert "envid env-" + mark in lines and "ret hdrs" in lines, record
    # NOTIFY=SUCCESS,FAILURE,DELAY (bits 2, 4, 8) and Postfix's ORCPT
    assert "rcpt remote 14 friend@remote.example rfc822;friend@remote.example" in lines, record
    assert "helo " + POSTFIX_HELO in lines, record
