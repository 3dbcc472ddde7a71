# test_imap_condstore - CONDSTORE and QRESYNC (RFC 7162) with imaplib and
# a raw client, on one server: a QRESYNC resync after another session
# changed flags, expunged and delivered (the VANISHED (EARLIER) set and
# the FETCHes exactly; known UIDs, sequence match, a wrong UIDVALIDITY,
# a client from before the expunge horizon); STORE UNCHANGEDSINCE losing
# to another session ([MODIFIED]); FETCH CHANGEDSINCE (0 too) and
# VANISHED; unsolicited VANISHED and MODSEQ; SEARCH MODSEQ and STATUS
# HIGHESTMODSEQ; bad input; mbsync staying a no-op.
import imaplib
import re
import time

import pytest

import tern_harness as th

USERS = ["cs%d@localhost" % i for i in range(1, 10)]


@pytest.fixture(scope="module")
def imap():
    # expunges are remembered 1 s: the horizon test waits past it (the
    # others expunge once per mailbox, so nothing of theirs is pruned)
    with th.imap_tern({"store.expunge_horizon": "1"}, users=USERS) as t:
        yield t


def message(n):
    return ("From: a@example.org\r\nTo: b@example.org\r\nMessage-ID: <cs%d@example.org>\r\n"
            "Subject: m%d\r\n\r\nbody %d\r\n" % (n, n, n)).encode()


def session(imap, user):
    return th.imap_ssl(imap.imaps_port, user=user)


def raw(imap, user, enable=None):
    r = th.RawIMAP(imap.imaps_port, tls=True)
    r.login(user)
    if enable:
        assert r.ok("ENABLE " + enable) == [b"* ENABLED " + enable.encode()]
    return r


def fill(imap, user, n):
    m = session(imap, user)
    for i in range(n):
        assert m.append("INBOX", None, None, message(i))[0] == "OK"
    m.logout()


def code(m, name):
    """The value of a response code (imaplib files them as untagged)."""
    return int(m.untagged_responses[name][-1])


def fetches(lines):
    """{uid: (flags, modseq)} of "* n FETCH (UID u FLAGS (...) MODSEQ (m))"."""
    out = {}
    for line in lines:
        line = line.decode() if isinstance(line, bytes) else line
        f = re.match(r"(?:\* )?\d+ (?:FETCH )?\(UID (\d+) FLAGS \(([^)]*)\) MODSEQ \((\d+)\)\)$", line)
        assert f, line
        out[int(f.group(1))] = (set(f.group(2).split()), int(f.group(3)))
    return out


def expunge(m, uids):
    assert m.uid("STORE", uids, "+FLAGS.SILENT", "(\\Deleted)")[0] == "OK"
    assert m.expunge()[0] == "OK"


def test_qresync_resync_after_another_session(imap):
    user = USERS[0]
    fill(imap, user, 6)
    m = session(imap, user)
    assert m.enable("QRESYNC")[0] == "OK"
    assert m.select("INBOX")[0] == "OK"
    uidvalidity, known = code(m, "UIDVALIDITY"), code(m, "HIGHESTMODSEQ")
    m.logout()
    # another session: a flag, two expunges, a new message
    other = session(imap, user)
    other.select("INBOX")
    assert other.uid("STORE", "2", "+FLAGS.SILENT", "(\\Seen)")[0] == "OK"
    expunge(other, "3,5")
    assert other.append("INBOX", "(\\Flagged)", None, message(7))[0] == "OK"
    other.logout()

    m = session(imap, user)
    assert m.enable("QRESYNC")[0] == "OK"
    typ, _ = m.select("INBOX (QRESYNC (%d %d 1:6))" % (uidvalidity, known))
    assert typ == "OK"
    assert m.untagged_responses["VANISHED"] == [b"(EARLIER) 3,5"]
    # the known UIDs only: message 7 is new to the client, EXISTS says so
    changed = fetches(m.untagged_responses["FETCH"])
    assert list(changed) == [2] and changed[2][0] == {"\\Seen"}
    assert known < changed[2][1] <= code(m, "HIGHESTMODSEQ")
    assert m.untagged_responses["EXISTS"] == [b"5"]
    # without known UIDs: 1:UIDNEXT-1, the new message's FETCH too
    typ, _ = m.select("INBOX (QRESYNC (%d %d))" % (uidvalidity, known))
    assert typ == "OK"
    assert m.untagged_responses["VANISHED"] == [b"(EARLIER) 3,5"]
    assert m.untagged_responses["CLOSED"] == [b""]
    changed = fetches(m.untagged_responses["FETCH"])
    assert sorted(changed) == [2, 7] and changed[7][0] == {"\\Flagged"}
    # sequence match (3.2.5.2): message 4 is UID 6 now, so the client
    # knows every expunge up to 6: nothing vanished to tell
    typ, _ = m.select("INBOX (QRESYNC (%d %d 1:6 (1,4 1,6)))" % (uidvalidity, known))
    assert typ == "OK" and "VANISHED" not in m.untagged_responses
    # a pair that no longer matches (message 3 is UID 4 now, not 3)
    typ, _ = m.select("INBOX (QRESYNC (%d %d 1:6 (1,3 1,3)))" % (uidvalidity, known))
    assert m.untagged_responses["VANISHED"] == [b"(EARLIER) 3,5"]
    # another UIDVALIDITY: a plain SELECT
    typ, _ = m.select("INBOX (QRESYNC (%d %d 1:6))" % (uidvalidity + 1, known))
    assert typ == "OK"
    assert "VANISHED" not in m.untagged_responses and "FETCH" not in m.untagged_responses
    assert code(m, "HIGHESTMODSEQ") > known
    m.logout()


def test_qresync_from_before_the_horizon(imap):
    user = USERS[1]
    fill(imap, user, 5)
    m = session(imap, user)
    m.enable("QRESYNC")
    m.select("INBOX")
    uidvalidity, known = code(m, "UIDVALIDITY"), code(m, "HIGHESTMODSEQ")
    expunge(m, "2")
    time.sleep(2.1)       # expunge times are whole seconds
    # this expunge prunes UID 2's, which is past the 1 s horizon
    expunge(m, "4")
    m.logout()
    m = session(imap, user)
    m.enable("QRESYNC")
    typ, _ = m.select("INBOX (QRESYNC (%d %d 1:9))" % (uidvalidity, known))
    assert typ == "OK"
    # every known UID the mailbox does not hold (from UIDNEXT on none
    # ever existed)
    assert m.untagged_responses["VANISHED"] == [b"(EARLIER) 2,4"]
    m.logout()


def test_store_unchangedsince_modified(imap):
    user = USERS[2]
    fill(imap, user, 3)
    r = raw(imap, user)
    untagged, done = r.cmd("SELECT INBOX (CONDSTORE)")
    assert b"OK [READ-WRITE]" in done
    assert any(line.startswith(b"* OK [HIGHESTMODSEQ ") for line in untagged)
    untagged = r.ok("FETCH 1:3 (MODSEQ)")
    seqs = [int(re.search(rb"MODSEQ \((\d+)\)", line).group(1)) for line in untagged]
    # another session changes message 2 after this one read its MODSEQ
    other = session(imap, user)
    other.select("INBOX")
    assert other.store("2", "+FLAGS", "(\\Answered)")[0] == "OK"
    other.logout()
    untagged, done = r.cmd("UID STORE 1:3 (UNCHANGEDSINCE %d) +FLAGS (\\Seen)" % max(seqs))
    assert done.endswith(b"OK [MODIFIED 2] Conditional STORE failed for some messages"), done
    mine = [line for line in untagged if b"MODSEQ" in line and b"\\Seen" in line]
    assert [re.search(rb"UID (\d+)", line).group(1) for line in mine] == [b"1", b"3"]
    untagged = r.ok("UID FETCH 2 (FLAGS)")
    assert b"\\Seen" not in b"".join(untagged)
    r.ok("LOGOUT")


def test_fetch_changedsince_and_vanished(imap):
    user = USERS[3]
    fill(imap, user, 4)
    r = raw(imap, user, enable="QRESYNC")
    untagged = r.ok("SELECT INBOX")
    top = int(re.search(rb"HIGHESTMODSEQ (\d+)", b"\n".join(untagged)).group(1))
    # CHANGEDSINCE 0 (iOS Mail): every message, MODSEQ added
    untagged = r.ok("FETCH 1:* (FLAGS) (CHANGEDSINCE 0)")
    assert len(untagged) == 4 and all(b"MODSEQ (" in line for line in untagged), untagged
    assert r.ok("UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d)" % top) == []
    other = session(imap, user)
    other.select("INBOX")
    other.uid("STORE", "4", "+FLAGS.SILENT", "(\\Flagged)")
    expunge(other, "1")
    other.logout()
    untagged = r.ok("UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d VANISHED)" % top)
    # the unsolicited VANISHED of this command's updates, and its own
    # answer: UID 4's FETCH (UID 1 is gone: EARLIER names nothing the
    # session still holds)
    assert b"* VANISHED 1" in untagged, untagged
    line = [x for x in untagged if b"FETCH" in x and b"UID 4 " in x]
    assert len(line) >= 1 and b"\\Flagged" in line[-1] and b"MODSEQ (" in line[-1]
    # asked again now that UID 1 is told: the EARLIER form, before FETCH
    untagged = r.ok("UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d VANISHED)" % top)
    assert untagged[0] == b"* VANISHED (EARLIER) 1", untagged
    assert [re.search(rb"UID (\d+)", x).group(1) for x in untagged[1:]] == [b"4"]
    r.ok("LOGOUT")


def test_unsolicited_vanished_and_modseq(imap):
    user = USERS[4]
    fill(imap, user, 4)
    r = raw(imap, user, enable="QRESYNC")
    r.ok("SELECT INBOX")
    other = session(imap, user)
    other.select("INBOX")
    other.uid("STORE", "3", "+FLAGS.SILENT", "(\\Seen)")
    expunge(other, "2")
    other.logout()
    untagged = r.ok("NOOP")
    assert b"* VANISHED 2" in untagged, untagged
    assert not any(b"EXPUNGE" in x for x in untagged), untagged
    # UID 3 is message 2 now: the FETCH carries UID and MODSEQ
    assert any(re.match(rb"\* 2 FETCH \(UID 3 FLAGS \(\\Seen \\Recent\) MODSEQ \(\d+\)\)$", x)
               for x in untagged), untagged
    # its own EXPUNGE: VANISHED, and HIGHESTMODSEQ in the tagged OK
    r.ok("UID STORE 1 +FLAGS.SILENT (\\Deleted)")
    untagged, done = r.cmd("EXPUNGE")
    assert untagged[-1] == b"* VANISHED 1", untagged
    assert re.search(rb"OK \[HIGHESTMODSEQ \d+\] EXPUNGE completed", done), done
    r.ok("LOGOUT")


def test_search_modseq_and_status(imap):
    user = USERS[5]
    fill(imap, user, 3)
    r = raw(imap, user)
    untagged = r.ok("STATUS INBOX (MESSAGES HIGHESTMODSEQ)")
    top = int(re.search(rb"HIGHESTMODSEQ (\d+)", untagged[0]).group(1))
    untagged = r.ok("SELECT INBOX")
    # STATUS (HIGHESTMODSEQ) enabled CONDSTORE: SELECT tells it
    assert b"* OK [HIGHESTMODSEQ %d] Highest" % top in untagged
    r.ok("STORE 2 +FLAGS (\\Flagged)")
    untagged = r.ok("SEARCH MODSEQ %d" % (top + 1))
    assert re.match(rb"\* SEARCH 2 \(MODSEQ \d+\)$", untagged[0]), untagged
    untagged = r.ok('SEARCH MODSEQ "/flags/\\\\flagged" all 0')
    assert re.match(rb"\* SEARCH 1 2 3 \(MODSEQ \d+\)$", untagged[0]), untagged
    assert r.ok("SEARCH MODSEQ %d" % (top + 100)) == [b"* SEARCH"]
    untagged = r.ok("SEARCH RETURN (ALL) MODSEQ 1")
    assert re.match(rb'\* ESEARCH \(TAG "t\d+"\) ALL 1:3 MODSEQ \d+$', untagged[0]), untagged
    r.ok("LOGOUT")


@pytest.mark.parametrize("command", [
    "SELECT INBOX (QRESYNC (1 1))",                    # QRESYNC not enabled
    "UID FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)",  # the same
])
def test_qresync_needs_enable(imap, command):
    r = raw(imap, USERS[6])
    if command.startswith("UID"):
        r.ok("SELECT INBOX")
    _, done = r.cmd(command)
    assert b" BAD " in done, done
    r.ok("LOGOUT")


@pytest.mark.parametrize("command", [
    "SELECT INBOX (QRESYNC)",
    "SELECT INBOX (QRESYNC ())",
    "SELECT INBOX (QRESYNC (0 1))",
    "SELECT INBOX (QRESYNC (1 0))",
    "SELECT INBOX (QRESYNC (4294967296 1))",
    "SELECT INBOX (QRESYNC (1 9223372036854775808))",
    "SELECT INBOX (QRESYNC (1 1 1:*))",
    "SELECT INBOX (QRESYNC (1 1 1:9 (3,1 3,1)))",      # match sets not ascending
    "SELECT INBOX (QRESYNC (1 1 1:9 (1,2 3)))",
    "SELECT INBOX (QRESYNC (1 1) QRESYNC (1 1))",
    "SELECT INBOX (CONDSTORE CONDSTORE)",
    "SELECT INBOX (FOO)",
    "SELECT INBOX ()",
    "FETCH 1 (FLAGS) (VANISHED)",
    "UID FETCH 1 (FLAGS) (VANISHED)",
    "FETCH 1 (FLAGS) (CHANGEDSINCE)",
    "FETCH 1 (FLAGS) (CHANGEDSINCE -1)",
    "FETCH 1 (FLAGS) (CHANGEDSINCE 99999999999999999999)",
    "FETCH 1 (FLAGS) (CHANGEDSINCE 1 CHANGEDSINCE 2)",
    "FETCH 1 (FLAGS) (FOO)",
    "STORE 1 (UNCHANGEDSINCE) +FLAGS (\\Seen)",
    "STORE 1 (UNCHANGEDSINCE 9223372036854775808) +FLAGS (\\Seen)",
    "SEARCH MODSEQ",
    "SEARCH MODSEQ x",
    "SEARCH MODSEQ 9223372036854775808",
    'SEARCH MODSEQ "/flags/\\\\seen" 5',
    'SEARCH MODSEQ "/flags/\\\\seen" other 5',
    "STATUS INBOX (HIGHESTMODSEQ FOO)",
])
def test_bad_input(imap, command):
    user = USERS[7]
    r = raw(imap, user, enable="QRESYNC")
    r.ok("SELECT INBOX")
    if not r.ok("FETCH 1:* (UID)"):
        fill(imap, user, 1)
        r.ok("NOOP")
    _, done = r.cmd(command)
    assert b" BAD " in done, (command, done)
    # the session goes on, still selected
    r.ok("FETCH 1 (UID)")
    r.ok("LOGOUT")


def test_mbsync_stays_a_noop(imap):
    from test_imap_clients import MBSYNC, Mbsync

    if MBSYNC is None:
        pytest.skip("mbsync (isync) is a test dependency")
    user = USERS[2]          # the UNCHANGEDSINCE test's mailbox: flags, MODSEQs moved
    sync = Mbsync(imap, user)
    try:
        sync.run()
        sync.in_sync()
        sync.noop_run()
    finally:
        sync.cleanup()


def test_no_vanished_in_uid_search_by_number(imap):
    # RFC 7162 3.2.10.2: no VANISHED during a UID SEARCH whose keys hold
    # message numbers (the client's numbers, from before the expunge);
    # one by UID may carry it
    user = USERS[8]
    fill(imap, user, 3)
    r = raw(imap, user, enable="QRESYNC")
    r.ok("SELECT INBOX")
    uids = [int(re.search(rb"UID (\d+)", x).group(1)) for x in r.ok("UID FETCH 1:* (UID)")]
    other = session(imap, user)
    other.select("INBOX")
    expunge(other, str(uids[1]))
    other.logout()
    untagged = r.ok("UID SEARCH 2")
    # message 2 is still the expunged one for this client
    assert untagged == [b"* SEARCH %d" % uids[1]], untagged
    assert r.ok("NOOP") == [b"* VANISHED %d" % uids[1]]
    r.ok("LOGOUT")


@pytest.mark.parametrize("names, listed", [
    ("QRESYNC CONDSTORE", b"* ENABLED QRESYNC CONDSTORE"),
    ("CONDSTORE QRESYNC", b"* ENABLED CONDSTORE QRESYNC"),
    ("QRESYNC CONDSTORE QRESYNC CONDSTORE", b"* ENABLED QRESYNC CONDSTORE"),
])
def test_enable_names_what_it_enabled(imap, names, listed):
    # RFC 7162 3.2.3: both orders enable both, and the answer says so
    r = raw(imap, USERS[6])
    assert r.ok("ENABLE " + names) == [listed]
    assert r.ok("ENABLE CONDSTORE QRESYNC") == [b"* ENABLED"]
    r.ok("LOGOUT")


def test_held_expunge_keeps_highestmodseq_below(imap):
    # RFC 7162 3.2: FETCH holds another session's expunge back but may
    # carry a later MODSEQ; its tagged OK tells a HIGHESTMODSEQ below the
    # expunge, so a client that keeps it and drops the connection still
    # learns of the expunge at its next QRESYNC
    user = USERS[8]
    fill(imap, user, 3)
    r = raw(imap, user, enable="QRESYNC")
    untagged = r.ok("SELECT INBOX")
    uidvalidity = int(re.search(rb"UIDVALIDITY (\d+)", b"\n".join(untagged)).group(1))
    uids = [int(re.search(rb"UID (\d+)", x).group(1)) for x in r.ok("UID FETCH 1:* (UID)")]
    other = session(imap, user)
    other.select("INBOX")
    expunge(other, str(uids[1]))
    assert other.uid("STORE", str(uids[0]), "+FLAGS.SILENT", "(\\Flagged)")[0] == "OK"
    other.logout()
    untagged, done = r.cmd("FETCH 1 (FLAGS)")
    seen = [int(x) for x in re.findall(rb"MODSEQ \((\d+)\)", b"\n".join(untagged))]
    told = re.search(rb"OK \[HIGHESTMODSEQ (\d+)\] FETCH completed", done)
    assert seen and told, (untagged, done)
    assert int(told.group(1)) < max(seen)
    r.close()
    r = raw(imap, user, enable="QRESYNC")
    untagged = r.ok("SELECT INBOX (QRESYNC (%d %s))" % (uidvalidity, told.group(1).decode()))
    assert b"* VANISHED (EARLIER) %d" % uids[1] in untagged, untagged
    r.ok("LOGOUT")
