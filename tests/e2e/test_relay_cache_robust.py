# test_relay_cache_robust - the outbound connection cache and pipelined
# BDAT against hostile receiving servers: one scripted server per test
# domain (a transport-table port on 127.0.0.1), each with its own fault.
# A reply more than the pipelined BDAT chunks (the end's real reply a
# refusal) is no delivery; a stray reply after the end of data spoils only the idle
# connection, not the next message; RSET refused on a reused connection
# sends the next message on a new one, and with [queue] connections = 1
# that one is opened only once the old one is closed; SIGTERM with an idle connection
# whose server never answers QUIT does not wait for it.
import socketserver
import threading
import time

import pytest

import tern_harness as th


class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        peer = self.server.peer
        with peer.lock:
            peer.connections += 1
        try:
            self.session(peer)
        except (ConnectionError, OSError):
            pass

    def say(self, data):
        self.wfile.write(data)
        self.wfile.flush()

    def session(self, peer):
        mode = peer.mode
        self.say(b"220 hostile ESMTP\r\n")
        rcpts, held = [], b""
        while True:
            line = self.rfile.readline()
            if not line:
                return
            verb = line[:4].upper()
            with peer.lock:
                peer.verbs.append(verb.decode())
            if verb == b"EHLO":
                self.say(b"250-hostile\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 CHUNKING\r\n")
            elif verb == b"RSET" and mode == "rset421":
                # RFC 5321 3.8: closing, but the socket left to the client
                self.say(b"421 4.4.2 idle too long\r\n")
                self.rfile.read()
                return
            elif verb == b"RSET":
                self.say(b"554 5.5.0 no RSET here\r\n" if mode == "rset5xx" else b"250 ok\r\n")
            elif verb == b"MAIL":
                rcpts = []
                self.say(b"250 ok\r\n")
            elif verb == b"RCPT":
                rcpts.append(line.split(b"<", 1)[1].split(b">", 1)[0].decode())
                self.say(b"250 ok\r\n")
            elif verb == b"BDAT":
                words = line.split()
                size, last = int(words[1]), len(words) > 2
                self.rfile.read(size)
                if not last:
                    if mode == "early" and not peer.faulted:
                        # one reply more than chunks; the later chunks'
                        # replies come with the end's refusal, in one write
                        peer.faulted = True
                        self.say(b"250 chunk\r\n250 2.0.0 extra\r\n")
                        mode, held = "refuse-end", b""
                    elif mode == "refuse-end":
                        held += b"250 chunk\r\n"
                    else:
                        self.say(b"250 chunk\r\n")
                    continue
                if mode == "refuse-end":
                    mode = peer.mode
                    self.say(held + b"554 5.6.0 refused after all\r\n")
                    continue
                with peer.lock:
                    peer.delivered += rcpts
                self.say(b"250 2.0.0 taken\r\n250 2.0.0 stray\r\n" if mode == "stray"
                         else b"250 2.0.0 taken\r\n")
            elif verb == b"QUIT":
                if mode == "mute":
                    time.sleep(60)
                    return
                self.say(b"221 bye\r\n")
                return
            else:
                self.say(b"502 5.5.1 no\r\n")


class Peer:
    def __init__(self, mode):
        self.mode = mode
        self.faulted = False
        self.lock = threading.Lock()
        self.connections = 0
        self.verbs = []
        self.delivered = []
        self.srv = socketserver.ThreadingTCPServer(("127.0.0.1", th.free_port()), Handler)
        self.srv.daemon_threads = True
        self.srv.peer = self
        threading.Thread(target=self.srv.serve_forever, args=(0.05,), daemon=True).start()

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()


MODES = ("early", "stray", "rset5xx", "rset421", "mute")


@pytest.fixture(scope="module")
def srv():
    peers = {m: Peer(m) for m in MODES}
    transport = " ".join("%s.test=127.0.0.1:%d/none" % (m, p.srv.server_address[1])
                         for m, p in peers.items())
    try:
        with th.smtp_tern({"smtp.trusted_networks": "127.0.0.1",
                           "queue.retry_first": "1", "queue.retry_max": "1",
                           "queue.connection_cache_time": "30", "queue.connections": "1",
                           "queue.transport": transport}) as t:
            t.peers = peers
            t.start()
            yield t
    finally:
        for p in peers.values():
            p.close()


def send(srv, rcpt, body=b"hello\r\n"):
    import smtplib
    s = smtplib.SMTP("127.0.0.1", srv.smtp_port, timeout=th.TIMEOUT)
    try:
        s.ehlo("client.example")
        assert s.mail(th.USER)[0] == 250
        assert s.rcpt(rcpt)[0] == 250
        code, text = s.data(b"Subject: robust\r\n\r\n" + body)
        assert code == 250, text
    finally:
        s.quit()
    return text.decode().rsplit(" ", 1)[1]


def log(srv):
    return srv.servers[-1].stderr_text()


def rcpt_line(srv, address):
    for line in log(srv).splitlines():
        if "rcpt=%s " % address in line:
            return line
    return None


BIG = b"".join(b"line %06d of a message of more than one BDAT chunk\r\n" % i
               for i in range(6000))


def test_more_replies_than_chunks_is_no_delivery(srv):
    """The server answers one pipelined chunk twice and refuses the end:
    tern cannot tell which reply is whose, so the message is deferred
    (not taken as delivered on the extra 250, nor bounced), and the next
    try, to a server that behaves, delivers it."""
    peer = srv.peers["early"]
    send(srv, "a1@early.test", BIG)
    assert th.wait_for(lambda: rcpt_line(srv, "a1@early.test") is not None)
    line = rcpt_line(srv, "a1@early.test")
    assert "status=deferred" in line, line
    assert th.wait_for(lambda: "a1@early.test" in peer.delivered)


def test_stray_reply_after_the_end_spoils_only_the_idle_connection(srv):
    peer = srv.peers["stray"]
    send(srv, "b1@stray.test")
    assert th.wait_for(lambda: "b1@stray.test" in peer.delivered)
    send(srv, "b2@stray.test")
    assert th.wait_for(lambda: "b2@stray.test" in peer.delivered)


def test_rset_refused_on_reuse_goes_fresh(srv):
    peer = srv.peers["rset5xx"]
    send(srv, "c1@rset5xx.test")
    assert th.wait_for(lambda: "c1@rset5xx.test" in peer.delivered)
    send(srv, "c2@rset5xx.test")
    assert th.wait_for(lambda: "c2@rset5xx.test" in peer.delivered)
    assert "RSET" in peer.verbs


def tern_sockets(port):
    """tern's sockets to the port still open on its side (connecting,
    established, or closed by the server but not by tern)."""
    with open("/proc/net/tcp") as f:
        rows = [line.split() for line in f.readlines()[1:]]
    return sum(1 for w in rows
               if int(w[2].split(":")[1], 16) == port and w[3] in ("01", "02", "08"))


def test_a_retry_waits_for_the_connection_it_follows(srv):
    """[queue] connections = 1: each reused connection is dropped with a
    421 to RSET, the server leaving the socket open; the message goes on
    a new connection, opened only once tern has closed the old one (the
    kernel's sockets sampled meanwhile)."""
    peer = srv.peers["rset421"]
    port = peer.srv.server_address[1]
    peak, done = [0], threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], tern_sockets(port))
            time.sleep(0.001)
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        for i in range(8):
            send(srv, "e%d@rset421.test" % i)
            assert th.wait_for(lambda: "e%d@rset421.test" % i in peer.delivered)
    finally:
        done.set()
        sampler.join()
    assert peer.connections == 8 and peak[0] == 1, (peer.connections, peak[0])
    # each at its first try: the queue deferred none
    assert "to=e" not in "".join(line for line in log(srv).splitlines()
                                 if 'msg="relay ' in line and "rset421" in line)


def test_sigterm_with_a_mute_idle_connection(srv):
    peer = srv.peers["mute"]
    send(srv, "d1@mute.test")
    assert th.wait_for(lambda: "d1@mute.test" in peer.delivered)
    rc, took = srv.servers[-1].terminate()
    assert rc == 0 and took < 5, (rc, took)
    assert th.wait_for(lambda: peer.verbs[-1:] == ["QUIT"])
    srv.start()
