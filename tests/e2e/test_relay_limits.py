# test_relay_limits - how many outbound SMTP sessions tern opens, and
# what it does when it cannot have a descriptor. A sink here (an SMTP
# server on one loopback port per test domain: each domain is its own
# destination) takes every message and can hold a domain's RCPT until the
# test lets it go. With [queue] connections = 1: a slot given back goes
# to the oldest waiting message of any destination, not to the next one
# of the destination whose connection could be reused; a message file
# that does not open when its turn comes defers its recipient (logged)
# and a later try delivers it. Under a low descriptor limit, the
# outbound limit is fitted (logged with the descriptor limit) and 30
# destinations at once never open more sessions than that, nor run out
# of descriptors. And the envelope sender that goes out: an alias that
# forwards to another domain sends an external sender's mail with an SRS0
# sender of the host name, a local sender's and the null sender's as
# they are.
import os
import smtplib
import socketserver
import threading

import pytest

import tern_harness as th

DOMAINS = 30


class SinkHandler(socketserver.StreamRequestHandler):
    def handle(self):
        sink = self.server.sink
        with sink.lock:
            sink.active += 1
            sink.peak = max(sink.peak, sink.active)
        try:
            self.session(sink)
        finally:
            with sink.lock:
                sink.active -= 1

    def session(self, sink):
        self.wfile.write(b"220 sink ESMTP\r\n")
        rcpts = []
        sender = None
        for line in self.rfile:
            verb = line[:4].upper()
            if verb in (b"EHLO", b"HELO"):
                self.wfile.write(b"250 sink\r\n")
            elif verb in (b"MAIL", b"RSET", b"NOOP"):
                rcpts = [] if verb != b"NOOP" else rcpts
                if verb == b"MAIL":
                    sender = line.split(b"<", 1)[1].split(b">", 1)[0].decode()
                self.wfile.write(b"250 2.0.0 ok\r\n")
            elif verb == b"RCPT":
                address = line.split(b"<", 1)[1].split(b">", 1)[0].decode()
                gate = sink.gates.get(address.split("@")[1])
                if gate is not None:
                    gate.wait(th.TIMEOUT)
                rcpts.append(address)
                self.wfile.write(b"250 2.1.5 ok\r\n")
            elif verb == b"DATA":
                self.wfile.write(b"354 go on\r\n")
                for body in self.rfile:
                    if body == b".\r\n":
                        break
                with sink.lock:
                    sink.delivered += rcpts
                    sink.senders.update((r, sender) for r in rcpts)
                self.wfile.write(b"250 2.0.0 taken\r\n")
            elif verb == b"QUIT":
                self.wfile.write(b"221 2.0.0 bye\r\n")
                return
            else:
                self.wfile.write(b"503 5.5.1 no\r\n")


class Sink:
    """One listener per domain d0.test ... on 127.0.0.1."""

    def __init__(self, n):
        self.lock = threading.Lock()
        self.active = self.peak = 0
        self.delivered = []
        self.senders = {}
        self.gates = {}
        self.servers = []
        for _ in range(n):
            srv = socketserver.ThreadingTCPServer(("127.0.0.1", th.free_port()), SinkHandler)
            srv.daemon_threads = True
            srv.sink = self
            threading.Thread(target=srv.serve_forever, args=(0.05,), daemon=True).start()
            self.servers.append(srv)

    def transport(self):
        return " ".join("d%d.test=127.0.0.1:%d/none" % (i, s.server_address[1])
                        for i, s in enumerate(self.servers))

    def close(self):
        for gate in self.gates.values():
            gate.set()
        for srv in self.servers:
            srv.shutdown()
            srv.server_close()


@pytest.fixture(scope="module")
def srv():
    sink = Sink(DOMAINS)
    try:
        with th.smtp_tern({"smtp.trusted_networks": "127.0.0.1", "queue.connections": "1",
                           "queue.retry_first": "1", "queue.retry_max": "1",
                           "queue.transport": sink.transport()}) as t:
            t.sink = sink
            t.start()
            yield t
    finally:
        sink.close()


def send(srv, rcpts, sender=th.USER):
    """One message to rcpts over port 25 (a trusted client may relay);
    returns its queue id."""
    s = smtplib.SMTP("127.0.0.1", srv.smtp_port, timeout=th.TIMEOUT)
    try:
        s.ehlo("client.example")
        assert s.mail(sender)[0] == 250
        for address in rcpts:
            assert s.rcpt(address)[0] == 250
        code, text = s.data(b"Subject: limits\r\n\r\nhello\r\n")
        assert code == 250, text
    finally:
        s.quit()
    return text.decode().rsplit(" ", 1)[1]


def log(srv):
    return srv.servers[-1].stderr_text()


def active(srv, queue_id):
    """The relay has taken the message in (it waits for a slot)."""
    return th.wait_for(lambda: "msg=\"relay active\" queue_id=%s " % queue_id in log(srv))


def delivered(srv, address):
    return th.wait_for(lambda: address in srv.sink.delivered)


def test_a_freed_slot_goes_to_the_oldest_waiting_message(srv):
    sink = srv.sink
    sink.gates["d0.test"] = gate = threading.Event()
    first = send(srv, ["a1@d0.test"])
    assert th.wait_for(lambda: sink.active == 1)
    older = send(srv, ["b1@d1.test"])
    newer = send(srv, ["a2@d0.test"])
    assert active(srv, older) and active(srv, newer)
    gate.set()
    assert delivered(srv, "a2@d0.test") and delivered(srv, "b1@d1.test")
    # d0's connection was not handed to its next message over d1's older one
    order = [a for a in sink.delivered if a in ("a1@d0.test", "b1@d1.test", "a2@d0.test")]
    assert order == ["a1@d0.test", "b1@d1.test", "a2@d0.test"], order
    assert sink.peak == 1
    srv.wait_queue(lambda o: o.startswith("the queue is empty"))
    assert first


def test_a_file_that_does_not_open_defers_its_recipient(srv):
    sink = srv.sink
    sink.gates["d2.test"] = gate = threading.Event()
    send(srv, ["c1@d2.test"])
    assert th.wait_for(lambda: sink.active == 1)
    waiting = send(srv, ["c2@d3.test"])
    assert active(srv, waiting)
    # its turn comes when the file cannot be opened (as with EMFILE)
    path = os.path.join(srv.data_dir, "queue", "msg", waiting)
    os.chmod(path, 0)
    try:
        gate.set()
        out = srv.wait_queue(lambda o: "deferred  remote c2@d3.test  tries 1" in o)
        assert "cannot open the message file" in out, out
        assert "msg=\"cannot open a message to relay\" queue_id=%s" % waiting in log(srv)
    finally:
        os.chmod(path, 0o600)
    # not lost: the next try delivers it
    assert delivered(srv, "c2@d3.test")
    srv.wait_queue(lambda o: o.startswith("the queue is empty"))
    assert srv.servers[-1].proc.poll() is None


def test_srs_only_for_senders_of_other_domains(srv):
    srv.cmd("alias", "add", "fwd@localhost", "f1@d5.test")
    srv.cmd("alias", "add", "fwd2@localhost", "f2@d5.test")
    srv.cmd("alias", "add", "fwd3@localhost", "f3@d5.test")
    send(srv, ["fwd@localhost"], sender="someone@Remote.example")
    send(srv, ["fwd2@localhost"])
    send(srv, ["fwd3@localhost"], sender="")
    for address in ("f1@d5.test", "f2@d5.test", "f3@d5.test"):
        assert delivered(srv, address)
    senders = srv.sink.senders
    # SRS0=HHHHHH=TT=domain=local@host name (mail/mail-srs.h)
    local, host = senders["f1@d5.test"].rsplit("@", 1)
    assert host == srv.sets["server.hostname"], senders
    tag, _, _, domain, user = local.split("=", 4)
    assert (tag, domain.lower(), user) == ("SRS0", "remote.example", "someone"), senders
    assert senders["f2@d5.test"] == th.USER
    assert senders["f3@d5.test"] == ""
    srv.wait_queue(lambda o: o.startswith("the queue is empty"))


def test_sessions_fit_a_low_descriptor_limit(srv):
    """nofile 160: 96 for the core, half of the rest (32) for outbound
    sessions (2 each: 16 of [queue] connections' 100), the remainder for
    the listeners' connections."""
    srv.servers[-1].terminate()
    srv.sink.peak = 0
    # every session waits a moment at RCPT, so that they overlap
    stall = threading.Event()
    for i in range(DOMAINS):
        srv.sink.gates["d%d.test" % i] = stall
    srv.start(sets={"queue.connections": "100"}, nofile=160)
    text = log(srv)
    assert "msg=\"outbound connection limit\" connections=16 configured=100 fds=32" in text
    assert "nofile=160 " in text and " outbound_fds=32" in text
    rcpts = ["m%d@d%d.test" % (i, i) for i in range(DOMAINS)]
    send(srv, rcpts)
    threading.Timer(1.0, stall.set).start()
    assert th.wait_for(lambda: all(a in srv.sink.delivered for a in rcpts)), srv.sink.delivered
    assert 1 < srv.sink.peak <= 16, srv.sink.peak
    srv.wait_queue(lambda o: o.startswith("the queue is empty"))
    assert "Too many open files" not in log(srv)
