# test_queue - the mail queue as an operator sees it: messages left in
# DATA/queue (as a crash leaves them, before queue.db knew of them) are
# delivered at the start and read by POP3; `tern queue list` shows every
# recipient's state, with or without a server; hold, release, flush and
# remove act on the running server over its control socket, which only
# root and the server's user can open; without a server they say so.
import os
import poplib
import pwd
import random
import re
import smtplib
import subprocess
import time

import pytest

import tern_harness as th

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
SMALL = "small@localhost"


def queue_id():
    return "".join(random.choice(ALPHABET) for _ in range(16))


def plant(t, sender, rcpts, body):
    """Leave a message in DATA/queue as the committer writes it: the file
    (Return-Path first) with its envelope record in the extended
    attribute. rcpts: [(address, local)]. Returns (id, file bytes)."""
    ident = queue_id()
    data = b"Return-Path: <" + sender.encode() + b">\r\n" + body
    record = "tern-envelope 1\nid %s\narrival %d\nsize %d\n" % (ident, int(time.time()) - 90, len(data))
    record += ("sender %s\n" % sender) if sender else "sender\n"
    record += "client 192.0.2.1\nhelo client.example\n"
    for address, local in rcpts:
        record += "rcpt %s 0 %s\n" % ("local" if local else "remote", address)
    record += "end\n"
    path = os.path.join(t.data_dir, "queue", "msg", ident)
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, 0o600)
    os.setxattr(path, "user.tern.envelope", record.encode())
    if th.AS_ROOT:
        nobody = pwd.getpwnam("nobody")
        os.chown(path, nobody.pw_uid, nobody.pw_gid)
    return ident, data


def first_start(t):
    """Start and stop a server once, so that DATA/queue exists."""
    t.start().terminate()


def retr_all(port, user, password):
    pop = poplib.POP3("127.0.0.1", port, timeout=th.TIMEOUT)
    try:
        pop.user(user)
        pop.pass_(password)
        n = len(pop.list()[1])
        return [b"\r\n".join(pop.retr(i + 1)[1]) + b"\r\n" for i in range(n)]
    finally:
        pop.quit()


BODY = (b"Received: from client.example by mail.test.example with ESMTP; Mon, 1 Jan 2024 00:00:00 +0000\r\n"
        b"From: Sender <sender@example.org>\r\nTo: demo@localhost\r\nSubject: queued\r\n"
        b"\r\nHello from the queue.\r\n")


@pytest.fixture
def queue_env(tern_factory):
    """Accounts, plaintext POP3 allowed on loopback, DATA/queue made."""
    t = tern_factory({"auth.allow_plaintext_loopback": "yes"})
    t.cmd("user", "add", SMALL, "--quota", "100", input=th.PASSWORD + "\n")
    first_start(t)
    return t


def test_delivered_at_start_and_listed(queue_env):
    t = queue_env
    ident, data = plant(t, "sender@example.org",
                        [("demo@localhost", True), ("far@elsewhere.example", False)], BODY)
    srv = t.start()
    # the remote recipient is tried (the harness's relayhost is a closed
    # port) and waits for its retry
    out = t.wait_queue(lambda o: "delivered local  demo@localhost" in o
                       and "deferred  remote far@elsewhere.example" in o)
    assert ident in out
    assert "<sender@example.org>" in out
    assert re.search(r"deferred  remote far@elsewhere\.example  tries 1, next in (4|5)m: ", out), out
    assert "-- 1 message, %d octets" % len(data) in out
    assert retr_all(srv.pop3_port, th.USER, th.PASSWORD) == [data]
    # the file stays queued for the remote recipient, shared with the mailbox
    st = os.stat(os.path.join(t.data_dir, "queue", "msg", ident))
    assert st.st_nlink == 2 and st.st_size == len(data)
    assert (st.st_mode & 0o7777) == 0o600
    # a restart delivers nothing twice
    srv.terminate()
    srv = t.start()
    time.sleep(0.5)
    assert retr_all(srv.pop3_port, th.USER, th.PASSWORD) == [data]
    assert "delivered local  demo@localhost" in t.queue_list()


def test_three_accounts_one_file(queue_env):
    t = queue_env
    t.cmd("user", "add", "demo3@localhost", input=th.PASSWORD + "\n")
    ident, data = plant(t, "", [("demo@localhost", True), ("demo2@localhost", True),
                                ("demo3@localhost", True)], BODY)
    srv = t.start()
    t.wait_queue(lambda o: o.startswith("the queue is empty"))
    assert not os.path.exists(os.path.join(t.data_dir, "queue", "msg", ident))
    inodes = set()
    for local, password in (("demo", th.PASSWORD), ("demo2", th.PASSWORD2), ("demo3", th.PASSWORD)):
        assert retr_all(srv.pop3_port, local + "@localhost", password) == [data]
        folder = os.path.join(t.data_dir, "mail", "localhost", local, "msg")
        names = [n for n in os.listdir(folder) if not n.startswith(".")]
        assert len(names) == 1
        st = os.stat(os.path.join(folder, names[0]))
        inodes.add(st.st_ino)
        assert st.st_nlink == 3
    assert len(inodes) == 1
    assert data.startswith(b"Return-Path: <>\r\n")


def test_hold_release_flush_remove(queue_env):
    t = queue_env
    ident, _ = plant(t, "sender@example.org", [("a@elsewhere.example", False),
                                                ("b@elsewhere.example", False)], BODY)
    t.start()
    out = t.wait_queue(lambda o: o.count("deferred  remote") == 2)
    assert ident in out
    p = t.cmd("queue", "hold", ident)
    assert p.stdout == "held %s: 2 recipients\n" % ident
    out = t.queue_list()
    assert out.count("held      remote") == 2
    p = t.cmd("queue", "release", ident)
    assert p.stdout == "released %s: 2 recipients to try now\n" % ident
    # tried at once, and deferred again
    t.wait_queue(lambda o: o.count("deferred  remote a") + o.count("deferred  remote b") == 2
                 and "tries 2" in o)
    p = t.cmd("queue", "flush", ident)
    assert p.stdout == "flushed %s: 2 deferred recipients to try now\n" % ident
    t.wait_queue(lambda o: o.count("tries 3") == 2)
    p = t.cmd("queue", "flush")
    assert p.stdout.startswith("flushed the queue: ")
    p = t.cmd("queue", "remove", ident)
    assert p.stdout == "removed %s\n" % ident
    assert t.queue_list() == "the queue is empty\n"
    assert not os.path.exists(os.path.join(t.data_dir, "queue", "msg", ident))
    # a message that is not there, and one that cannot be
    other = queue_id()
    for sub in ("remove", "hold", "release", "flush"):
        p = t.cmd("queue", sub, other, check=False)
        assert p.returncode == 1
        assert "no such message in the queue: %s" % other in p.stderr
    p = t.cmd("queue", "hold", "not-an-id", check=False)
    assert p.returncode == 1 and "not a queue id" in p.stderr
    p = t.cmd("queue", "hold", check=False)
    assert p.returncode == 2
    p = t.cmd("queue", "list", ident, check=False)
    assert p.returncode == 2
    p = t.cmd("queue", "purge", check=False)
    assert p.returncode == 2


def test_over_quota_stays_queued_until_flush(queue_env):
    t = queue_env
    ident, data = plant(t, "sender@example.org", [(SMALL, True)], BODY)
    srv = t.start()
    out = t.wait_queue(lambda o: "deferred" in o)
    # [queue] retry_first: 5 minutes
    assert re.search(r"\n    deferred  local  %s  tries 1, next in (4|5)m: mailbox over quota\n"
                     % re.escape(SMALL), out), out
    assert retr_all(srv.pop3_port, SMALL, th.PASSWORD) == []
    # room again: a flush delivers it now, not in a minute
    t.cmd("user", "passwd", SMALL, "--quota", "0", input=th.PASSWORD + "\n")
    p = t.cmd("queue", "flush")
    assert p.stdout == "flushed the queue: 1 deferred recipient to try now\n"
    t.wait_queue(lambda o: o == "the queue is empty\n", timeout=5 * th.SLOW)
    assert retr_all(srv.pop3_port, SMALL, th.PASSWORD) == [data]
    assert "msg=\"delivery deferred\" queue_id=%s to=%s error=\"mailbox over quota\"" % (ident, SMALL) \
        in srv.stderr_text()


def test_rcpt_over_quota(tern_factory):
    """Port 25 refuses an RCPT to an account without room with 452 4.2.2
    (its quota read from its index, open or not); a message that fits is
    accepted, and the session goes on."""
    t = tern_factory({"auth.allow_plaintext_loopback": "yes"})
    t.enable_smtp()
    t.cmd("user", "add", SMALL, "--quota", "0", input=th.PASSWORD + "\n")
    srv = t.start()
    with smtplib.SMTP("127.0.0.1", t.smtp_port, timeout=th.TIMEOUT) as c:
        c.sendmail("sender@example.org", [SMALL], "Subject: fill\r\n\r\n" + "x" * 300 + "\r\n")
    t.wait_queue(lambda o: o == "the queue is empty\n")
    t.cmd("user", "passwd", SMALL, "--quota", "200", input=th.PASSWORD + "\n")
    clean = os.path.join(t.data_dir, "mail", "localhost", "small", "clean")
    # once while the delivery's handle may still be open, once after it
    # is closed (its clean marker back): the read-only path
    for closed in (False, True):
        if closed:
            th.wait_for(lambda: os.path.exists(clean), timeout=15 * th.SLOW)
        with smtplib.SMTP("127.0.0.1", t.smtp_port, timeout=th.TIMEOUT) as c:
            c.ehlo("client.example.org")
            assert c.mail("sender@example.org")[0] == 250
            code, text = c.rcpt(SMALL)
            assert (code, text[:5]) == (452, b"4.2.2"), (code, text)
            assert c.rcpt(th.USER)[0] == 250
            assert c.noop()[0] == 250
    assert len(retr_all(srv.pop3_port, SMALL, th.PASSWORD)) == 1


def test_without_a_server(queue_env):
    t = queue_env
    ident, _ = plant(t, "sender@example.org", [("a@elsewhere.example", False)], BODY)
    # before any server saw it, queue.db does not know it yet
    assert t.queue_list() == "the queue is empty\n"
    t.start().terminate()
    # list reads queue.db: the server indexed it
    assert ident in t.queue_list()
    for args in (("hold", ident), ("release", ident), ("remove", ident), ("flush",)):
        p = t.cmd("queue", *args, check=False)
        assert p.returncode == 1
        assert "the server is not running" in p.stderr, p.stderr
    assert ident in t.queue_list()


def test_list_without_data_folder(tern_factory):
    t = tern_factory(accounts=False)
    p = t.cmd("queue", "list", check=False)
    assert p.returncode == 1 and "does not exist" in p.stderr


def control(t, line, user=None):
    """One raw request on DATA/control.sock; returns the reply (or the
    OSError when the connection is refused)."""
    path = os.path.join(t.data_dir, "control.sock")
    code = ("import socket,sys\n"
            "s=socket.socket(socket.AF_UNIX)\n"
            "try:\n s.connect(sys.argv[1])\nexcept OSError as e:\n print('connect:', e.strerror); sys.exit(0)\n"
            "s.sendall(sys.argv[2].encode('latin-1'))\n"
            "s.shutdown(socket.SHUT_WR)\n"
            "print(s.recv(1000).decode('latin-1'), end='')\n")
    preexec = None
    if user is not None:
        pw = pwd.getpwnam(user)

        def preexec():
            os.setgid(pw.pw_gid)
            os.setuid(pw.pw_uid)
    p = subprocess.run(["/usr/bin/python3", "-c", code, path, line], capture_output=True,
                       text=True, timeout=th.TIMEOUT, preexec_fn=preexec)
    return p.stdout


def test_control_socket(queue_env):
    t = queue_env
    srv = t.start()
    path = os.path.join(t.data_dir, "control.sock")
    st = os.lstat(path)
    assert (st.st_mode & 0o7777) == 0o600
    if th.AS_ROOT:
        assert st.st_uid == pwd.getpwnam("nobody").pw_uid
    assert control(t, "queue-flush\n") == "ok flushed the queue: 0 deferred recipients to try now\n"
    assert control(t, "queue-hold\n") == "error needs an argument\n"
    assert control(t, "queue-hold A B\n") == "error bad argument\n"
    assert control(t, "Queue-hold X\n") == "error bad command\n"
    assert control(t, "reboot\n") == "error unknown command\n"
    assert control(t, "queue-flush " + "A" * 300 + "\n") == "error no request line\n"
    assert control(t, "queue-hold AAAAAAAAAAAAAAAA") == "error no request line\n"
    assert control(t, "queue-hold AAAAAAAAAAAAAAAA\n") == \
        "error no such message in the queue: AAAAAAAAAAAAAAAA\n"
    assert control(t, "\n") == "error no command\n"
    if th.AS_ROOT:
        # another local user cannot even reach the socket (DATA is 0700)
        assert control(t, "queue-flush\n", user="daemon").startswith("connect:")
    # the socket goes with the server
    srv.terminate()
    assert not os.path.exists(path)
    # a stale socket (a server killed) is replaced at the next start
    srv = t.start()
    srv.kill9()
    assert os.path.exists(path)
    t.start()
    assert control(t, "queue-flush\n").startswith("ok ")
