# test_imap_kill - kill -9 under concurrent IMAP load (issue 7: OK to
# APPEND only once the message is durable; MOVE is atomic): clients
# APPEND messages and MOVE some of them to another mailbox while the
# server is killed with SIGKILL at a random moment, three rounds with a
# restart between. After the last restart: every APPEND that got its OK is
# there exactly once and whole, in Archive when its MOVE got its OK, in
# INBOX when no MOVE of it was tried; a message whose APPEND or MOVE was
# cut may be in either place (or, for a cut APPEND, nowhere) but never
# twice; no two messages share a UID and UIDNEXT is above them all.
import random
import re
import threading

import pytest

import tern_harness as th

ROUNDS = 3
CLIENTS = 6


@pytest.fixture(scope="module")
def env():
    with th.imap_tern({"auth.allow_plaintext_loopback": "yes"}) as t:
        yield t


def message(key, rnd):
    lines = "".join("line %d of %s %s\r\n" % (i, key, "x" * rnd.randrange(0, 70))
                    for i in range(rnd.randrange(1, 60)))
    return ("From: load@example.org\r\nTo: demo@localhost\r\nSubject: %s\r\n"
            "Message-ID: <%s>\r\n\r\n%s" % (key, key, lines)).encode()


class Load:
    """CLIENTS threads appending and moving until the server dies."""

    def __init__(self, port, rnd, first):
        self.port = port
        self.rnd = rnd
        self.next = first
        self.lock = threading.Lock()
        self.sent = {}       # key -> message bytes
        self.acked = set()   # APPEND answered OK
        self.moved = set()   # MOVE to Archive answered OK
        self.tried = set()   # MOVE sent (answered or not)
        self.errors = []     # a refusal while the server lived
        self.threads = [threading.Thread(target=self.client, args=(random.Random(rnd.random()),))
                        for _ in range(CLIENTS)]

    def new_key(self, rnd):
        with self.lock:
            i = self.next
            self.next += 1
        key = "kill-%d@example.org" % i
        self.sent[key] = message(key, rnd)
        return key

    def client(self, rnd):
        try:
            r = th.RawIMAP(self.port)
            r.login()
            while True:
                key = self.new_key(rnd)
                data = self.sent[key]
                _, done = r.cmd(b"APPEND INBOX {%d+}\r\n" % len(data) + data)
                m = re.search(rb"\[APPENDUID \d+ (\d+)\]", done)
                if not m or b" OK " not in done:
                    self.errors.append(done)
                    return
                self.acked.add(key)
                if rnd.random() < 0.4:
                    _, done = r.cmd("SELECT INBOX")
                    if b" OK " not in done:
                        self.errors.append(done)
                        return
                    self.tried.add(key)
                    _, done = r.cmd(b"UID MOVE %s Archive" % m.group(1))
                    if b" OK " not in done:
                        self.errors.append(done)
                        return
                    self.moved.add(key)
        except (OSError, EOFError):
            return   # the kill

    def start(self):
        for th_ in self.threads:
            th_.start()

    def join(self):
        for th_ in self.threads:
            th_.join(timeout=th.TIMEOUT)


def contents(port):
    """{Message-ID: [(mailbox, uid, bytes)]} over INBOX and Archive, and
    each mailbox's UIDNEXT."""
    r = th.RawIMAP(port)
    r.login()
    found, uidnext = {}, {}
    for box in ("INBOX", "Archive"):
        status = r.ok("STATUS %s (UIDNEXT)" % box)
        uidnext[box] = int(re.search(rb"UIDNEXT (\d+)", status[0]).group(1))
        r.ok("EXAMINE %s" % box)
        lines = r.ok("FETCH 1:* (UID BODY.PEEK[])")
        uids = []
        for line in lines:
            m = re.match(rb"\* \d+ FETCH \(UID (\d+) BODY\[\] \{(\d+)\}\r\n", line)
            if not m:
                continue
            uid, n = int(m.group(1)), int(m.group(2))
            body = line[m.end():m.end() + n]
            key = re.search(rb"Message-ID: <([^>]+)>", body).group(1).decode()
            found.setdefault(key, []).append((box, uid, body))
            uids.append(uid)
        assert len(uids) == len(set(uids)), "%s: a UID given twice" % box
        assert not uids or max(uids) < uidnext[box], (box, max(uids), uidnext[box])
    r.ok("LOGOUT")
    return found


def test_kill9_during_append_and_move(env):
    t = env
    t.server.stop_quietly()   # the fixture's: each round starts its own
    seed = random.randrange(1 << 30)
    print("seed", seed)
    rnd = random.Random(seed)
    sent, acked, moved, tried = {}, set(), set(), set()
    first = 0
    for n in range(ROUNDS):
        srv = t.start()
        load = Load(t.imap_port, rnd, first)
        load.start()
        target = rnd.randrange(20, 150)
        assert th.wait_for(lambda: len(load.acked) >= target, interval=0.005), \
            "round %d: %d acked" % (n, len(load.acked))
        srv.kill9()
        load.join()
        assert not load.errors, load.errors[:3]
        sent.update(load.sent)
        acked |= load.acked
        moved |= load.moved
        tried |= load.tried
        first = load.next
        print("round %d: %d appended, %d moved" % (n, len(load.acked), len(load.moved)))

    srv = t.start()
    found = contents(t.imap_port)
    for key, copies in found.items():
        assert len(copies) == 1, "%s is there %d times: %s" % (
            key, len(copies), [(b, u) for b, u, _ in copies])
        assert copies[0][2] == sent[key], "%s is not whole" % key
    for key in acked:
        assert key in found, "%s got OK to APPEND but is gone" % key
        box = found[key][0][0]
        if key in moved:
            assert box == "Archive", "%s got OK to MOVE but is in %s" % (key, box)
        elif key not in tried:
            assert box == "INBOX", "%s was never moved but is in %s" % (key, box)
    assert len(acked) >= ROUNDS * 20
    srv.terminate()
