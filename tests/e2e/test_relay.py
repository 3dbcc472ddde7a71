# test_relay - outbound delivery end to end, with no mock in the path:
# two tern instances, A on 127.0.0.2 and B on 127.0.0.3, both on port 25
# (MX delivery always uses port 25: the tests run as root, DESIGN.md 8's
# one exception), and dnsmasq on a loopback port serving the MX and A
# records of both domains, A's DKIM TXT record (as `tern dkim keygen`
# printed it) and a null MX. A user of A submits to a user of B: the
# message arrives with both Received headers (B's says ESMTPS with the
# cipher: A used STARTTLS) and a DKIM signature dkimpy verifies against
# the TXT record read from dnsmasq; B down: deferred, delivered by the
# retry timer once B is back; a backlog over one connection, and a stream
# of messages over one connection kept idle between them; the next MX when the first
# refuses the connection; the next MX after a 421 and a 450 greeting
# (127.0.0.15 and .16); an unknown user at B and a null-MX domain: a
# DSN in the sender's INBOX; the TLS server_name A sends (SNI) to a
# host name and to an address; the transport table; a third instance, C,
# with B's submission port as its smarthost (AUTH over TLS).
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import uuid

import dkim
import pytest

import tern_harness as th
from test_dkim import parse_zone_line
from test_smtp import delivered

DNSMASQ = "/usr/sbin/dnsmasq"
ALICE = "alice@a.test"
BOB = "bob@b.test"
BOB2 = "bob@b2.test"
BOB3 = "bob@tt.test"
BOB4 = "bob@b4.test"       # MX 10 greets 421, MX 20 greets 450, MX 30 is B
BUSY = (("127.0.0.15", "421 4.3.2 mx1.b4.test busy, try another"),
        ("127.0.0.16", "450 4.3.2 mx2.b4.test busy, try another"))
CAROL = "carol@c.test"

pytestmark = pytest.mark.skipif(not th.AS_ROOT or not os.path.exists(DNSMASQ),
                                reason="needs root (port 25) and dnsmasq")


def port_open(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def start_dnsmasq(txt_name, txt_record, extra=()):
    """dnsmasq serving this file's records, A's DKIM TXT record and the
    `extra` lines of its configuration (test_relay_postfix.py's)."""
    folder = tempfile.mkdtemp(prefix="tern-e2e-dns-")
    port = th.free_port()
    # a TXT record's strings are at most 255 octets each (RFC 1035 3.3.14)
    strings = ",".join('"%s"' % txt_record[i:i + 250] for i in range(0, len(txt_record), 250))
    conf = os.path.join(folder, "dnsmasq.conf")
    with open(conf, "w") as f:
        f.write("port=%d\nlisten-address=127.0.0.1\nbind-interfaces\nno-resolv\nno-hosts\n"
                "no-poll\nlocal-ttl=1\nlocal=/test/\n"
                "mx-host=a.test,mx.a.test,10\nhost-record=mx.a.test,127.0.0.2\n"
                "mx-host=b.test,mx.b.test,10\nhost-record=mx.b.test,127.0.0.3\n"
                "mx-host=b2.test,mx1.b2.test,10\nhost-record=mx1.b2.test,127.0.0.4\n"
                "mx-host=b2.test,mx.b.test,20\n"
                "mx-host=nullmx.test,.,0\n"
                "txt-record=%s,%s\n" % (port, txt_name.rstrip("."), strings)
                + "".join(line + "\n" for line in extra))
    proc = subprocess.Popen([DNSMASQ, "--keep-in-foreground", "--conf-file=" + conf,
                             "--pid-file=", "--log-facility=/dev/null"])
    # dnsmasq listens on TCP too: connectable means ready
    assert th.wait_for(lambda: port_open(port)), "dnsmasq did not start"
    return proc, port, folder


def dig_txt(port):
    """dkimpy's dnsfunc, asking dnsmasq (through dig)."""
    def lookup(name, timeout=5):
        out = subprocess.run(["dig", "+short", "-p", str(port), "@127.0.0.1", "TXT",
                              name.decode().rstrip(".")],
                             capture_output=True, text=True, timeout=timeout).stdout
        parts = [p for line in out.splitlines() for p in line.split('"')[1::2]]
        return "".join(parts).encode() or None
    return lookup


class Busy:
    """A server on ADDRESS:25 that greets with a 4xx reply, answers the
    QUIT that should follow (RFC 5321 3.1) and closes; counts its
    connections."""

    def __init__(self, address, greeting):
        self.sock = socket.create_server((address, 25))
        self.greeting = greeting.encode() + b"\r\n"
        self.sessions = 0
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                self.sessions += 1
                conn.settimeout(5)
                try:
                    conn.sendall(self.greeting)
                    if conn.recv(512).upper().startswith(b"QUIT"):
                        conn.sendall(b"221 2.0.0 bye\r\n")
                except OSError:
                    pass

    def close(self):
        self.sock.close()


class SniRecorder:
    """An SMTP server on 127.0.0.1 offering STARTTLS (a self-signed
    certificate for mx.sni.test) that keeps, for each message, the name
    the client sent in the TLS server_name extension (None: no SNI; "":
    the message came without TLS) and its RCPT address."""

    def __init__(self, folder):
        cert, key = th.make_cert(folder, "sni", "mx.sni.test")
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(cert, key)
        self.ctx.sni_callback = self.note
        self.name = None
        self.messages = []
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self.run, daemon=True).start()

    def note(self, _sslsock, server_name, _ctx):
        self.name = server_name

    def run(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            try:
                self.session(conn)
            except OSError:
                pass
            finally:
                conn.close()

    def session(self, conn):
        conn.settimeout(10)
        name, rcpt, tls = "", None, False
        f = conn.makefile("rb")
        conn.sendall(b"220 sni.test ESMTP\r\n")
        while True:
            line = f.readline()   # from the TLS layer once it is there
            if not line:
                return
            cmd = line.strip().upper()
            reply = b"250 2.0.0 ok\r\n"
            if cmd.startswith(b"EHLO"):
                reply = b"250 sni.test\r\n" if tls else b"250-sni.test\r\n250 STARTTLS\r\n"
            elif cmd == b"STARTTLS" and not tls:
                conn.sendall(b"220 2.0.0 go ahead\r\n")
                self.name = None
                conn = self.ctx.wrap_socket(conn, server_side=True)
                name, tls = self.name, True
                f = conn.makefile("rb")
                continue
            elif cmd.startswith(b"RCPT TO:"):
                rcpt = line.strip()[8:].strip(b"<>").decode()
            elif cmd == b"DATA":
                conn.sendall(b"354 go ahead\r\n")
                for body in f:
                    if body == b".\r\n":
                        break
                self.messages.append((name, rcpt))
            elif cmd == b"QUIT":
                conn.sendall(b"221 2.0.0 bye\r\n")
                return
            conn.sendall(reply)

    def close(self):
        self.sock.close()


@pytest.fixture(scope="module")
def relay():
    """(a, b, dns_port): B serving b.test on 127.0.0.3:25; A serving
    a.test on 127.0.0.2:25 with submission, routing by MX through
    dnsmasq."""
    a = th.Tern({"server.hostname": "mx.a.test", "queue.relayhost": "",
                 "queue.source_address": "127.0.0.2", "queue.retry_first": "2",
                 # idle connections wait long enough for a loaded machine
                 "queue.connection_cache_time": "30",
                 # tt.test has no DNS records: the transport table routes it
                 "queue.transport": "tt.test=127.0.0.3:25/encrypt"})
    b = th.Tern({"server.hostname": "mx.b.test", "queue.relayhost": "",
                 "queue.source_address": "127.0.0.3", "smtp.sender_login": "any"})
    # C sends everything to B's submission port as its smarthost, with AUTH
    # over TLS (B's certificate is self-signed: allowed explicitly)
    c = th.Tern({"server.hostname": "mx.c.test", "queue.relayhost_tls": "encrypt",
                 "queue.relayhost_user": BOB, "queue.relayhost_password": th.PASSWORD,
                 "queue.relayhost_auth_unverified": "yes",
                 "queue.destination_concurrency": "1"})
    proc = folder = None
    busy = []
    sni = None
    try:
        for t, domain, user, address in ((a, "a.test", ALICE, "127.0.0.2"),
                                         (b, "b.test", BOB, "127.0.0.3")):
            t.enable_smtp()
            t.sets["listen.smtp"] = address + ":25"
            t.cmd("domain", "add", domain)
            t.cmd("user", "add", user, input=th.PASSWORD + "\n")
        # b2.test: its first exchanger (127.0.0.4) takes no connection
        b.cmd("domain", "add", "b2.test")
        b.cmd("user", "add", BOB2, input=th.PASSWORD + "\n")
        b.cmd("domain", "add", "tt.test")
        b.cmd("user", "add", BOB3, input=th.PASSWORD + "\n")
        b.cmd("domain", "add", "b4.test")
        b.cmd("user", "add", BOB4, input=th.PASSWORD + "\n")
        busy = [Busy(address, greeting) for address, greeting in BUSY]
        sni = SniRecorder(a.work_dir)
        # sni.test by a host name, lit.test by an address: to the recorder
        a.sets["queue.transport"] += " sni.test=mx.sni.test:%d/may lit.test=127.0.0.1:%d/may" % (
            sni.port, sni.port)
        c.enable_smtp()
        c.cmd("domain", "add", "c.test")
        c.cmd("user", "add", CAROL, input=th.PASSWORD + "\n")
        out = a.cmd("dkim", "keygen", "a.test").stdout
        txt_name, txt_record = parse_zone_line(out)
        proc, port, folder = start_dnsmasq(txt_name, txt_record, (
            "mx-host=b4.test,mx1.b4.test,10", "host-record=mx1.b4.test," + BUSY[0][0],
            "mx-host=b4.test,mx2.b4.test,20", "host-record=mx2.b4.test," + BUSY[1][0],
            "mx-host=b4.test,mx.b.test,30", "host-record=mx.sni.test,127.0.0.1"))
        for t in (a, b):
            t.sets["dns.servers"] = "127.0.0.1:%d" % port
        b.start()
        a.start()
        c.sets["queue.relayhost"] = "127.0.0.1:%d" % b.submission_port
        c.start()
        a.c = c
        a.busy = busy
        a.sni = sni
        yield a, b, port
    finally:
        problems = a.cleanup() + b.cleanup() + c.cleanup()
        for server in busy + ([sni] if sni is not None else []):
            server.close()
        if proc is not None:
            proc.send_signal(signal.SIGTERM)
            proc.wait()
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
    assert not problems, "\n".join(problems)


def submit(a, mark, to, sender=ALICE, body=""):
    msg = ("From: <%s>\r\nTo: %s\r\nSubject: %s\r\n"
           "Message-ID: <%s@a.test>\r\nDate: Tue, 01 Dec 2026 10:00:00 +0000\r\n\r\n"
           "Hello from A.\r\n.a leading dot\r\n%s"
           % (sender, ", ".join(to), mark, mark, body)).encode()
    s = th.smtp_submission(a.submission_port, sender, th.PASSWORD)
    try:
        s.sendmail(sender, to, msg)
    finally:
        s.quit()


def header_fields(stored, name):
    head = stored.split(b"\r\n\r\n", 1)[0].replace(b"\r\n\t", b" ").replace(b"\r\n ", b" ")
    return [l for l in head.split(b"\r\n") if l.lower().startswith(name.lower() + b":")]


def test_delivered_signed_over_starttls(relay):
    a, b, port = relay
    mark = "r-" + uuid.uuid4().hex[:12]
    submit(a, mark, [BOB])
    stored, = delivered(b, mark, BOB, th.PASSWORD)
    received = header_fields(stored, b"Received")
    assert len(received) == 2, received
    # B's, first: from A over STARTTLS
    assert received[0].startswith(b"Received: from mx.a.test ([127.0.0.2])"), received[0]
    assert b"by mx.b.test" in received[0] and b"with ESMTPS" in received[0], received[0]
    assert b"with cipher " in received[0], received[0]
    # A's: the submission
    assert b"by mx.a.test" in received[1] and b"with ESMTPSA" in received[1], received[1]
    assert b"\r\n.a leading dot\r\n" in stored
    assert dkim.DKIM(stored).verify(dnsfunc=dig_txt(port)), header_fields(stored, b"DKIM-Signature")
    a.wait_queue(lambda o: o.startswith("the queue is empty"))


def test_stream_over_one_connection(relay):
    """Messages submitted one after the other, each once the previous one
    was delivered, go over one connection: A keeps it idle between them
    ([queue] connection_cache_time) and the next message takes it, with
    no new session at B."""
    a, b, _ = relay
    a_log, b_log = a.servers[-1], b.servers[-1]
    reused = a_log.stderr_text().count("connection=reused")
    sessions = b_log.stderr_text().count("remote=127.0.0.2 msg=\"connect\"")
    # the second one in six BDAT chunks, pipelined (B offers PIPELINING)
    big = "".join("%06d %s\r\n" % (i, "x" * 70) for i in range(9000))
    for i in range(3):
        mark = "r-" + uuid.uuid4().hex[:12]
        submit(a, mark, [BOB], body=big if i == 1 else "")
        stored, = delivered(b, mark, BOB, th.PASSWORD)
        if i == 1:
            assert stored.endswith(big.encode()), stored[-200:]
    a.wait_queue(lambda o: o.startswith("the queue is empty"))
    log = a_log.stderr_text()
    # the first may go over the connection of the test before, or a new one
    assert log.count("connection=reused") - reused >= 2, log[-3000:]
    assert b_log.stderr_text().count("remote=127.0.0.2 msg=\"connect\"") - sessions <= 1


def test_b_down_deferred_then_retried(relay):
    """B down: deferred; B back: the retry timer ([queue] retry_first =
    2 s on A) delivers it, no flush needed."""
    a, b, _ = relay
    b.servers[-1].terminate()
    mark = "r-" + uuid.uuid4().hex[:12]
    submit(a, mark, [BOB])
    out = a.wait_queue(lambda o: "deferred  remote %s  tries " % BOB in o)
    assert "mx.b.test[127.0.0.3]: connect: connection refused" in out, out
    b.start()
    delivered(b, mark, BOB, th.PASSWORD)
    a.wait_queue(lambda o: o.startswith("the queue is empty"))


def test_backlog_over_one_connection(relay):
    """B down: three messages deferred at C; B back and a flush: they go
    one after the other over one connection ([queue]
    destination_concurrency = 1 on C: the others wait for it)."""
    a, b, _ = relay
    c = a.c
    b.servers[-1].terminate()
    marks = ["r-" + uuid.uuid4().hex[:12] for _ in range(3)]
    for mark in marks:
        submit(c, mark, [BOB], sender=CAROL)
    c.wait_queue(lambda o: o.count("deferred  remote %s  tries 1, next in" % BOB) == 3)
    b.start()
    assert c.cmd("queue", "flush").stdout == "flushed the queue: 3 deferred recipients to try now\n"
    for mark in marks:
        delivered(b, mark, BOB, th.PASSWORD)
    c.wait_queue(lambda o: o.startswith("the queue is empty"))
    log = c.servers[-1].stderr_text()
    assert log.count("connection=reused") == 2, log[-3000:]


def test_next_mx_after_a_refused_connection(relay):
    a, b, _ = relay
    mark = "r-" + uuid.uuid4().hex[:12]
    submit(a, mark, [BOB2])
    stored, = delivered(b, mark, BOB2, th.PASSWORD)
    assert b"by mx.b.test" in header_fields(stored, b"Received")[0]
    a.wait_queue(lambda o: o.startswith("the queue is empty"))


def test_next_mx_after_a_4xx_greeting(relay):
    """RFC 5321 3.1, 5.1: a 421 or 450 greeting is no answer about the
    mail; the next MX in preference order gets it."""
    a, b, _ = relay
    mark = "g-" + uuid.uuid4().hex[:12]
    submit(a, mark, [BOB4])
    stored, = delivered(b, mark, BOB4, th.PASSWORD)
    assert b"by mx.b.test" in header_fields(stored, b"Received")[0]
    assert [server.sessions for server in a.busy] == [1, 1]
    a.wait_queue(lambda o: o.startswith("the queue is empty"))


def test_sni_names_the_host_never_an_address(relay):
    """STARTTLS to mx.sni.test sends SNI mx.sni.test; to 127.0.0.1, an
    address literal, no SNI (RFC 6066 3)."""
    a, _, _ = relay
    for domain, expected in (("sni.test", "mx.sni.test"), ("lit.test", None)):
        to = "bob@" + domain
        submit(a, "s-" + uuid.uuid4().hex[:12], [to])
        assert th.wait_for(lambda: any(r == to for _, r in a.sni.messages)), a.queue_list()
        assert [n for n, r in a.sni.messages if r == to] == [expected], a.sni.messages
    a.wait_queue(lambda o: o.startswith("the queue is empty"))


def test_transport_table(relay):
    a, b, _ = relay
    mark = "r-" + uuid.uuid4().hex[:12]
    submit(a, mark, [BOB3])
    stored, = delivered(b, mark, BOB3, th.PASSWORD)
    assert b"with ESMTPS " in header_fields(stored, b"Received")[0]


def test_smarthost_with_auth(relay):
    """C's relayhost is B's submission port: STARTTLS, AUTH as bob, and B
    delivers (its Received says ESMTPSA)."""
    a, b, _ = relay
    mark = "r-" + uuid.uuid4().hex[:12]
    submit(a.c, mark, [BOB], sender=CAROL)
    stored, = delivered(b, mark, BOB, th.PASSWORD)
    received = header_fields(stored, b"Received")
    assert b"by mx.b.test" in received[0] and b"with ESMTPSA " in received[0], received[0]
    assert b"by mx.c.test" in received[1], received
    a.c.wait_queue(lambda o: o.startswith("the queue is empty"))


def dsn_for(a, mark):
    """The report in Alice's INBOX about the message marked `mark`."""
    def find():
        for m in th.inbox_by_message_id(a.pop3_port, ALICE, th.PASSWORD).values():
            for copy in m:
                if b"multipart/report" in copy and mark.encode() in copy:
                    return copy
        return None
    report = th.wait_for(find)
    assert report, "no report for %s" % mark
    return report


def test_unknown_user_bounces(relay):
    a, _, _ = relay
    mark = "r-" + uuid.uuid4().hex[:12]
    submit(a, mark, ["nobody@b.test"])
    report = dsn_for(a, mark)
    assert b"Action: failed" in report and b"Status: 5.1.1" in report, report
    assert b"Remote-MTA: dns; mx.b.test" in report, report
    assert b"Diagnostic-Code: smtp; 550 5.1.1 " in report, report
    a.wait_queue(lambda o: "nobody@b.test" not in o)


def test_null_mx_bounces_at_once(relay):
    a, _, _ = relay
    mark = "r-" + uuid.uuid4().hex[:12]
    submit(a, mark, ["someone@nullmx.test"])
    report = dsn_for(a, mark)
    assert b"Action: failed" in report and b"Status: 5.1.10" in report, report
    a.wait_queue(lambda o: "nullmx.test" not in o)
