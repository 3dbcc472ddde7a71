# test_imap_import_live - changes another process commits reach the
# running server's sessions: a `tern import` while one IMAP session sits
# in IDLE (it gets EXISTS within seconds, through the control socket's
# store-changed) and another is selected without idling (its next NOOP
# says EXISTS, and a command that does not read the index anyway, FETCH,
# learns it too).
import re
import time

import pytest

import tern_harness as th

USER = "live@localhost"


@pytest.fixture(scope="module")
def imap():
    with th.imap_tern(users=(USER,)) as t:
        yield t


def message(n):
    return ("From: a@example.org\nTo: live@localhost\nSubject: live %d\n\nbody %d\n" % (n, n)).encode()


def session(imap):
    r = th.RawIMAP(imap.imaps_port, tls=True)
    r.login(USER)
    return r


def read_until(r, pattern, timeout):
    """Untagged lines up to one matching `pattern`, within `timeout` s."""
    seen = []
    r.sock.settimeout(timeout)
    try:
        while True:
            line = r.response_line()
            seen.append(line)
            if re.search(pattern, line):
                return seen
    finally:
        r.sock.settimeout(th.TIMEOUT)


def test_import_reaches_idle_and_next_command(imap):
    imap.import_mbox(USER, [message(0)])
    idler, other, third = session(imap), session(imap), session(imap)
    for r in (idler, other, third):
        untagged = r.ok("SELECT INBOX")
        assert b"* 1 EXISTS" in untagged, untagged
    idler.send(b"i1 IDLE\r\n")
    assert idler.readline() == b"+ idling\r\n"
    imap.import_mbox(USER, [message(1), message(2)])
    done = time.monotonic()
    seen = read_until(idler, rb"^\* 3 EXISTS$", 5)
    assert time.monotonic() - done < 3.0, seen
    idler.send(b"DONE\r\n")
    untagged, tagged = idler.read_until("i1")
    assert tagged == b"i1 OK IDLE completed", (untagged, tagged)
    # not idling: NOOP reads the index whatever the hub said
    assert b"* 3 EXISTS" in other.ok("NOOP")
    # FETCH syncs only when the hub said the mailbox changed
    untagged = third.ok("FETCH 1 (FLAGS)")
    assert b"* 3 EXISTS" in untagged, untagged
    for r in (idler, other, third):
        r.close()
