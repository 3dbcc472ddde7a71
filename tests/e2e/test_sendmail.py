# test_sendmail - `tern sendmail` as cron, scripts and git send-email use
# it: tern installed as a `sendmail` symbolic link, run by a user who is
# not root (daemon, when the tests run as root) with the configuration in
# TERN_CONFIG, the message on standard input. What it sends is read back
# by POP3: -t's recipients from To/Cc/Bcc with Bcc removed from every
# copy, the Date, Message-ID and From it adds, the Received header naming
# the local user by the uid the kernel gave, recipients as arguments, -f
# and -F, the lone dot and -i; then sendmail(8)'s exit codes: no server
# (EX_TEMPFAIL), bad usage (EX_USAGE), an unknown user (EX_NOUSER, and
# nobody gets the message), an unreadable address, a message over
# [limits] message_size and too many recipients (EX_DATAERR), a server that
# dies in the middle of the message (EX_TEMPFAIL, not SIGPIPE).
import os
import pwd
import re
import socket
import stat
import subprocess
import threading
import uuid

import pytest

import tern_harness as th
from test_smtp import delivered, mailbox

USER3 = "demo3@localhost"
HOST = "mail.test.example"
SIZE_MAX = 100000
RECIPIENTS_MAX = 5
EX_USAGE, EX_DATAERR, EX_NOUSER, EX_TEMPFAIL, EX_CONFIG = 64, 65, 67, 75, 78

# the local user who sends: not root, not the server's user
SENDER = pwd.getpwnam("daemon") if th.AS_ROOT else pwd.getpwuid(os.getuid())


@pytest.fixture(scope="module")
def srv():
    t = th.Tern({"limits.recipients": str(RECIPIENTS_MAX),
                 "limits.message_size": str(SIZE_MAX)})
    try:
        t.setup_accounts()
        t.cmd("user", "add", USER3, input=th.PASSWORD + "\n")
        t.cmd("domain", "add", HOST)
        # cron mails the job's owner: "root" is root@HOST
        t.cmd("alias", "add", "root@" + HOST, th.USER)
        t.start()
        # what /usr/sbin/sendmail would be, and /etc/tern/tern.conf
        os.symlink(th.TERN_BIN, os.path.join(t.work_dir, "sendmail"))
        t.config = os.path.join(t.work_dir, "tern.conf")
        with open(t.config, "w") as f:
            f.write("[server]\nhostname = %s\npublic_dir = %s\n\n[limits]\nmessage_size = %d\n"
                    % (HOST, t.public_dir, SIZE_MAX))
        os.chmod(t.config, 0o644)
        yield t
    finally:
        problems = t.cleanup()
    assert not problems, "\n".join(problems)


def marker():
    return "m-" + uuid.uuid4().hex[:12]


def as_sender():
    if th.AS_ROOT:
        os.setgroups([])
        os.setgid(SENDER.pw_gid)
        os.setuid(SENDER.pw_uid)


def sendmail(srv, *args, input=b"", config=None):
    """Run `sendmail ARGS` as the local user; (exit status, stderr)."""
    env = dict(os.environ, TERN_CONFIG=config or srv.config)
    p = subprocess.run([os.path.join(srv.work_dir, "sendmail")] + list(args), input=input,
                       capture_output=True, env=env, preexec_fn=as_sender,
                       timeout=th.TIMEOUT)
    srv.cli_stderr.append("sendmail %s\n%s" % (" ".join(args), p.stderr.decode()))
    return p.returncode, p.stderr.decode()


def header(stored):
    return stored.split(b"\r\n\r\n", 1)[0]


def fields(stored, name):
    """The values of the fields called name, unfolded."""
    text = header(stored).decode("utf-8", "replace").replace("\r\n\t", " ")
    text = text.replace("\r\n", "\n")
    return [m.group(1) for m in re.finditer(r"(?im)^%s: ?(.*)$" % name, text)]


def secret(user):
    return th.PASSWORD2 if user == th.USER2 else th.PASSWORD


def has(srv, user, mark):
    return any(mark.encode() in header(m) for m in mailbox(srv, user, secret(user)))


def test_cron_t(srv):
    """cronie's call, with a job's output: Bcc goes, the headers come."""
    mark = marker()
    msg = ("To: root\n"
           "Cc: Demo Two <%s>\n"
           "Bcc: %s\n"
           "Subject: Cron <daemon@host> run-job %s\n"
           "Content-Type: text/plain; charset=UTF-8\n"
           "\n"
           "job output\n"
           "progress 10%%\r50%%\r100%%\n"
           "..leading dots\n" % (th.USER2, USER3, mark)).encode()
    rc, err = sendmail(srv, "-FCronDaemon", "-i", "-B8BITMIME", "-oem", "-odi", "-t",
                       input=msg)
    assert rc == 0, err
    copies = [delivered(srv, mark, user, secret(user))[0] for user in (th.USER, th.USER2, USER3)]
    me = SENDER.pw_name
    for stored in copies:
        rp, rest = stored.split(b"\r\n", 1)
        assert rp == ("Return-Path: <%s@%s>" % (me, HOST)).encode()
        assert rest.startswith(("Received: from local user %s (uid %d)\r\n\tby %s (tern) id "
                                % (me, SENDER.pw_uid, HOST)).encode()), rest[:200]
        assert fields(stored, "Bcc") == [] and USER3.encode() not in header(stored)
        assert fields(stored, "From") == ['"CronDaemon" <%s@%s>' % (me, HOST)]
        assert len(fields(stored, "Date")) == 1
        assert re.fullmatch(r"<[0-9]+\.[0-9]+\.[0-9a-f]{16}@%s>" % re.escape(HOST),
                            fields(stored, "Message-ID")[0])
        assert fields(stored, "To") == ["root"]
        body = stored.split(b"\r\n\r\n", 1)[1]
        # a lone CR became a line end; dots came back unstuffed
        assert body == b"job output\r\nprogress 10%\r\n50%\r\n100%\r\n..leading dots\r\n"
    # the one file the queue made is shared: same Message-ID everywhere
    assert len({tuple(fields(c, "Message-ID")) for c in copies}) == 1


def test_arguments_f_and_F(srv):
    """git send-email's way: recipients as arguments, -f, a full header."""
    mark = marker()
    msg = ("From: Jane <jane@example.org>\r\n"
           "To: someone@example.org\r\n"
           "Date: Tue, 01 Dec 2026 10:00:00 +0000\r\n"
           "Message-ID: <%s@example.org>\r\n"
           "Subject: %s\r\n\r\nHello.\r\n" % (mark, mark)).encode()
    rc, err = sendmail(srv, "-i", "-f", "jane@example.org", "-F", "Jane Doe", th.USER,
                       "%s, %s" % (th.USER2, USER3), input=msg)
    assert rc == 0, err
    for user in (th.USER, th.USER2, USER3):
        stored = delivered(srv, mark, user, secret(user))[0]
        assert stored.startswith(b"Return-Path: <jane@example.org>\r\n")
        # nothing added over what the message has
        assert fields(stored, "From") == ["Jane <jane@example.org>"]
        assert fields(stored, "Message-ID") == ["<%s@example.org>" % mark]
        assert len(fields(stored, "Date")) == 1
    # -F names an added From; -f<> is the null sender, From the user
    mark = marker()
    rc, err = sendmail(srv, "-f<>", "-F", "Jane \"JD\" Doe", th.USER,
                       input=("Subject: %s\n\nx\n" % mark).encode())
    assert rc == 0, err
    stored = delivered(srv, mark)[0]
    assert stored.startswith(b"Return-Path: <>\r\n")
    assert fields(stored, "From") == ['"Jane \\"JD\\" Doe" <%s@%s>' % (SENDER.pw_name, HOST)]


def test_dot_and_i(srv):
    mark = marker()
    rc, err = sendmail(srv, th.USER, input=("Subject: %s\n\nbefore\n.\nafter\n" % mark).encode())
    assert rc == 0, err
    body = delivered(srv, mark)[0].split(b"\r\n\r\n", 1)[1]
    assert body == b"before\r\n"
    for flag in ("-i", "-oi"):
        mark = marker()
        rc, err = sendmail(srv, flag, th.USER,
                           input=("Subject: %s\n\nbefore\n.\nafter" % mark).encode())
        assert rc == 0, err
        body = delivered(srv, mark)[0].split(b"\r\n\r\n", 1)[1]
        assert body == b"before\r\n.\r\nafter\r\n"
    # no header at all: everything is body, the header is tern's
    mark = marker()
    rc, err = sendmail(srv, th.USER, input=("plain text %s\n" % mark).encode())
    assert rc == 0, err
    found = th.wait_for(lambda: [m for m in mailbox(srv) if mark.encode() in m],
                        timeout=th.TIMEOUT)
    assert found[0].endswith(("\r\n\r\nplain text %s\r\n" % mark).encode())
    assert len(fields(found[0], "From")) == 1


def test_no_server(srv):
    """The socket's folder is there, the server is not."""
    empty = os.path.join(srv.work_dir, "stopped")
    os.makedirs(empty, exist_ok=True)
    conf = os.path.join(srv.work_dir, "stopped.conf")
    with open(conf, "w") as f:
        f.write("[server]\nhostname = %s\npublic_dir = %s\n" % (HOST, empty))
    os.chmod(conf, 0o644)
    rc, err = sendmail(srv, th.USER, input=b"Subject: lost\n\nx\n", config=conf)
    assert rc == EX_TEMPFAIL
    assert "the mail server is not running" in err and "not sent" in err


@pytest.mark.parametrize("args", [["-q"], ["-bp"], ["-f"], ["-Z", th.USER]])
def test_usage(srv, args):
    rc, err = sendmail(srv, *args, input=b"x\n")
    assert rc == EX_USAGE, err
    assert "usage: tern sendmail" in err


def test_mutt_dsn(srv):
    """mutt with dsn_notify and dsn_return set: -N, -R and -V become
    NOTIFY, RET and ENVID, kept with the message queued for the remote
    recipient; the local copy is delivered."""
    mark = marker()
    rc, err = sendmail(srv, "-oem", "-oi", "-N", "failure,delay", "-R", "hdrs",
                       "-V", "mutt-" + mark, "--", th.USER, "friend@remote.example",
                       input=("Subject: %s\n\nDSN.\n" % mark).encode())
    assert rc == 0, err
    stored = delivered(srv, mark)[0]
    ident = re.search(rb" id ([A-Z2-7]{16});", stored).group(1).decode()
    srv.wait_queue(lambda out: ident in th.queue_entries(out))
    lines = os.getxattr(os.path.join(srv.data_dir, "queue", "msg", ident),
                        "user.tern.envelope").decode().splitlines()
    assert "envid mutt-" + mark in lines and "ret hdrs" in lines, lines
    # NOTIFY=FAILURE,DELAY: bits 4 and 8
    assert any(l.startswith("rcpt remote 12 friend@remote.example") for l in lines), lines


@pytest.mark.parametrize("args", [["-N", "never,success", "x@y.z"], ["-N", "sometimes", "x@y.z"],
                                  ["-R", "body", "x@y.z"], ["-V", "a b", "x@y.z"],
                                  ["-V", "x" * 101, "x@y.z"]])
def test_dsn_usage(srv, args):
    rc, err = sendmail(srv, *args, input=b"x\n")
    assert rc == EX_USAGE, err


def test_too_long_address(srv):
    """An address longer than a command line is refused, never cut."""
    rc, err = sendmail(srv, "a" * 1100 + "@example.org", input=b"Subject: long\n\nx\n")
    assert rc == EX_DATAERR and "not an address" in err, err


def test_refusals(srv):
    # no recipient anywhere
    rc, err = sendmail(srv, "-t", input=b"Subject: none\n\nx\n")
    assert rc == EX_USAGE and "no recipients" in err
    # an unknown user: the others get nothing either
    mark = marker()
    rc, err = sendmail(srv, th.USER2, "nobody-here@localhost",
                       input=("Subject: %s\n\nx\n" % mark).encode())
    assert rc == EX_NOUSER and "550 5.1.1" in err
    # an address -t cannot read
    rc, err = sendmail(srv, "-t", input=("To: %s, <broken\nSubject: %s\n\nx\n"
                                         % (th.USER2, mark)).encode())
    assert rc == EX_DATAERR and "To: an address cannot be read" in err
    # more recipients than [limits] recipients
    rc, err = sendmail(srv, *([th.USER2] * (RECIPIENTS_MAX + 1)),
                       input=("Subject: %s\n\nx\n" % mark).encode())
    assert rc == EX_DATAERR and "452 4.5.3" in err
    # over [limits] message_size, in lines as a log file would be
    line = b"x" * 99 + b"\n"
    rc, err = sendmail(srv, th.USER2, input=("Subject: %s\n\n" % mark).encode() +
                       line * (SIZE_MAX // 100 + 10))
    assert rc == EX_DATAERR and "552 5.3.4" in err
    # and one that fits arrives: none of the above did
    ok = marker()
    rc, err = sendmail(srv, th.USER2, input=("Subject: %s\n\n" % ok).encode() + line * 100)
    assert rc == 0, err
    delivered(srv, ok, th.USER2, secret(th.USER2))
    assert not has(srv, th.USER2, mark)


def test_forged_trace_and_modes(srv):
    """A Received the user writes stays below tern's, which names the
    uid; the public folder and socket let users in, the data folder not."""
    mark = marker()
    rc, err = sendmail(srv, th.USER, input=(
        "Received: from local user root (uid 0)\n\tby %s (tern) id FORGED;\n"
        "\tTue, 1 Dec 2026 00:00:00 +0000\nSubject: %s\n\nx\n" % (HOST, mark)).encode())
    assert rc == 0, err
    stored = delivered(srv, mark)[0]
    received = fields(stored, "Received")
    assert received[0].startswith("from local user %s (uid %d)" % (SENDER.pw_name,
                                                                   SENDER.pw_uid))
    assert "FORGED" in received[1]
    sock = os.path.join(srv.public_dir, "sendmail.sock")
    assert stat.S_IMODE(os.stat(srv.public_dir).st_mode) == 0o755
    assert stat.S_ISSOCK(os.lstat(sock).st_mode)
    assert stat.S_IMODE(os.lstat(sock).st_mode) == 0o666
    assert stat.S_IMODE(os.stat(srv.data_dir).st_mode) == 0o700


def fake_server(folder, on_data, uid=None):
    """A server on folder/sendmail.sock for one client: it accepts the
    envelope, answers DATA with 354, then does on_data(connection, reader).
    With uid, the socket is that user's (made with it as effective uid).
    Returns the thread."""
    os.makedirs(folder, exist_ok=True)
    os.chmod(folder, 0o755)
    path = os.path.join(folder, "sendmail.sock")
    listener = socket.socket(socket.AF_UNIX)
    if uid is not None:
        os.chown(folder, uid, -1)
        os.seteuid(uid)
    try:
        listener.bind(path)
        os.chmod(path, 0o666)
        listener.listen(1)
    finally:
        if uid is not None:
            os.seteuid(0)

    def serve():
        with listener:
            c, _ = listener.accept()
        with c, c.makefile("rb") as r:
            try:
                c.sendall(b"220 fake\r\n")
                for line in r:
                    if line.startswith(b"DATA"):
                        c.sendall(b"354 go on\r\n")
                        on_data(c, r)
                        return
                    c.sendall(b"250 ok\r\n")
            except ConnectionError:
                pass   # the client hung up: its exit code tells

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return thread


def test_server_gone_mid_message(srv):
    """The server dies in the middle of DATA (a crash, kill -9): the
    client must say so with EX_TEMPFAIL (the caller keeps the message),
    not die of SIGPIPE without a word, and stop reading its input."""
    folder = os.path.join(srv.work_dir, "dies")
    conf = os.path.join(srv.work_dir, "dies.conf")
    with open(conf, "w") as f:
        f.write("[server]\nhostname = %s\npublic_dir = %s\n" % (HOST, folder))
    os.chmod(conf, 0o644)
    thread = fake_server(folder, lambda c, r: r.readline())
    line = b"x" * 99 + b"\n"
    rc, err = sendmail(srv, th.USER, input=b"Subject: dies\n\n" + line * 200000, config=conf)
    thread.join(th.TIMEOUT)
    assert rc == EX_TEMPFAIL, (rc, err)
    assert "connection to the server was lost" in err and "not sent" in err


@pytest.mark.skipif(not th.AS_ROOT, reason="needs a third user to plant the socket")
def test_planted_socket(srv):
    """A public_dir another user could create (one under /tmp, say): the
    server refuses it, and the client must not hand the message to the
    socket that user planted there and report success."""
    folder = os.path.join(srv.work_dir, "planted")
    conf = os.path.join(srv.work_dir, "planted.conf")
    with open(conf, "w") as f:
        f.write("[server]\nhostname = %s\npublic_dir = %s\n" % (HOST, folder))
    os.chmod(conf, 0o644)
    stolen = []
    thread = fake_server(folder, lambda c, r: stolen.append(r.readline()), uid=54321)
    rc, err = sendmail(srv, th.USER, input=b"Subject: secret\n\nx\n", config=conf)
    # the fake waits for a client that never comes: wake it
    with socket.socket(socket.AF_UNIX) as wake:
        try:
            wake.connect(os.path.join(folder, "sendmail.sock"))
        except OSError:
            pass   # it had its client, and is gone
    thread.join(th.TIMEOUT)
    assert rc == EX_CONFIG, (rc, err)
    assert "not the mail server's" in err and "uid 54321" in err and "not sent" in err
    assert stolen == []
