# test_imap_selected - the selected mailbox with imaplib and a raw client:
# SELECT/EXAMINE responses (rev1 and rev2), STORE and its FETCH replies,
# COPY/MOVE with COPYUID, EXPUNGE/UID EXPUNGE/CLOSE/UNSELECT, two sessions
# on one mailbox (updates at the next command, none during FETCH/STORE/
# SEARCH; the view SELECT copies, shared and brought up to date), UID commands on a UID the session was never told about, IDLE
# woken by an SMTP delivery, commands in the packet of DONE, rev1 \Recent.
import imaplib
import re
import smtplib
import time

import pytest

import tern_harness as th


@pytest.fixture(scope="module")
def imap():
    # a small output buffer: long responses go out in paced pieces
    with th.imap_tern({"limits.output_buffer": "4096"}, smtp=True, users=("sel1@localhost", "sel2@localhost", "sel3@localhost",
                                        "sel4@localhost", "sel5@localhost", "sel6@localhost",
                                        "sel7@localhost", "sel8@localhost", "sel9@localhost")) as t:
        yield t


def message(n, subject=None):
    subject = subject or "message %d" % n
    return ("From: a@example.org\r\nTo: b@example.org\r\nSubject: %s\r\n\r\nbody %d\r\n"
            % (subject, n)).encode()


def raw(imap, user, rev2=False):
    r = th.RawIMAP(imap.imaps_port, tls=True)
    r.login(user)
    if rev2:
        r.ok("ENABLE IMAP4rev2")
    return r


def append(r, mailbox, n, flags=""):
    data = message(n)
    tag = r.next_tag()
    r.send(b"%s APPEND %s %s{%d+}\r\n%s\r\n" % (tag.encode(), mailbox.encode(),
                                                  (flags + " ").encode() if flags else b"",
                                                  len(data), data))
    _, done = r.read_until(tag)
    assert b"OK" in done, done
    return int(re.search(rb"APPENDUID \d+ (\d+)", done).group(1))


def test_select_responses_rev1(imap):
    r = raw(imap, "sel1@localhost")
    for i in range(3):
        append(r, "INBOX", i, "(\\Seen)" if i == 0 else "")
    untagged, done = r.cmd("SELECT INBOX")
    assert done.startswith(b"t") and b"OK [READ-WRITE]" in done, done
    text = b"\n".join(untagged)
    assert b"* 3 EXISTS" in untagged
    assert b"* 3 RECENT" in untagged       # rev1: the first session sees them \Recent
    assert b"* OK [UNSEEN 2]" in text
    assert re.search(rb"\* OK \[UIDVALIDITY \d+\]", text)
    assert b"* OK [UIDNEXT 4]" in text
    assert b"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)" in untagged
    assert b"* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)]" in text
    assert b"LIST" not in text             # rev2 only
    # \Recent went to this session: another one sees none
    r2 = raw(imap, "sel1@localhost")
    untagged, done = r2.cmd("SELECT INBOX")
    assert b"* 0 RECENT" in untagged, untagged
    # and a FETCH FLAGS here says \Recent
    untagged, _ = r.cmd("FETCH 2 FLAGS")
    assert untagged == [b"* 2 FETCH (FLAGS (\\Recent))"], untagged
    # a message arriving while both have it selected: \Recent for the
    # first to hear of it, not for the other
    r3 = raw(imap, "sel1@localhost")
    append(r3, "INBOX", 3)
    untagged = r.ok("NOOP")
    assert untagged == [b"* 4 EXISTS", b"* 4 RECENT"], untagged
    untagged = r2.ok("NOOP")
    assert untagged == [b"* 4 EXISTS", b"* 0 RECENT"], untagged
    # EXAMINE takes none (RFC 3501 6.3.2)
    append(r3, "INBOX", 4)
    untagged, done = r3.cmd("EXAMINE INBOX")
    assert b"* 0 RECENT" in untagged and b"READ-ONLY" in done, untagged
    untagged = r.ok("NOOP")
    assert untagged == [b"* 5 EXISTS", b"* 5 RECENT"], untagged
    r.close()
    r2.close()
    r3.close()


def test_select_rev2_examine_closed(imap):
    r = raw(imap, "sel2@localhost", rev2=True)
    append(r, "INBOX", 1)
    untagged, done = r.cmd("SELECT INBOX")
    assert b"OK [READ-WRITE]" in done, done
    assert b'* LIST () "/" "INBOX"' in untagged, untagged
    assert not any(b"RECENT" in u for u in untagged)
    # SELECT of another mailbox: [CLOSED] first (RFC 9051 7.1)
    untagged, done = r.cmd("EXAMINE Sent")
    assert untagged[0].startswith(b"* OK [CLOSED]"), untagged
    assert b"OK [READ-ONLY]" in done, done
    assert b"* OK [PERMANENTFLAGS ()] Read-only mailbox" in untagged
    # read-only: STORE, EXPUNGE and MOVE refused
    r.ok("EXAMINE INBOX")
    _, done = r.cmd("STORE 1 +FLAGS (\\Deleted)")
    assert b" NO " in done, done
    _, done = r.cmd("EXPUNGE")
    assert b" NO " in done, done
    _, done = r.cmd("MOVE 1 Trash")
    assert b" NO " in done, done
    # a failed SELECT leaves the session unselected
    _, done = r.cmd("SELECT Nowhere")
    assert b"NO [NONEXISTENT]" in done, done
    _, done = r.cmd("FETCH 1 FLAGS")
    assert b" BAD " in done, done
    r.close()


def test_store_flags_and_keywords(imap):
    m = th.imap_ssl(imap.imaps_port, user="sel3@localhost")
    for i in range(3):
        m.append("INBOX", None, None, message(i))
    # rev1 (imaplib): this first session sees them \Recent
    m.select("INBOX")
    typ, data = m.store("1:2", "+FLAGS", "(\\Flagged $Label1)")
    assert typ == "OK"
    assert data == [b"1 (FLAGS (\\Flagged \\Recent $Label1))",
                    b"2 (FLAGS (\\Flagged \\Recent $Label1))"], data
    typ, data = m.store("1", "-FLAGS.SILENT", "(\\Flagged)")
    assert typ == "OK" and data == [None], data
    typ, data = m.uid("STORE", "3", "FLAGS", "(\\Seen)")
    assert data == [b"3 (UID 3 FLAGS (\\Seen \\Recent))"], data
    typ, data = m.fetch("1:3", "(FLAGS)")
    assert data == [b"1 (FLAGS (\\Recent $Label1))", b"2 (FLAGS (\\Flagged \\Recent $Label1))",
                    b"3 (FLAGS (\\Seen \\Recent))"], data
    # the keyword now is one of the mailbox's: SELECT's FLAGS lists it
    typ, data = m.select("INBOX")
    assert b"$Label1" in m.response("FLAGS")[1][0]
    with pytest.raises(imaplib.IMAP4.error):
        m.store("1", "+FLAGS", "(\\Bogus)")
    with pytest.raises(imaplib.IMAP4.error):
        m.store("9", "+FLAGS", "(\\Seen)")     # no message 9
    m.logout()


def test_copy_move_copyuid(imap):
    r = raw(imap, "sel4@localhost")
    for i in range(4):
        append(r, "INBOX", i)
    r.ok("SELECT INBOX")
    _, done = r.cmd("COPY 1:2 Archive")
    m = re.search(rb"OK \[COPYUID (\d+) 1:2 1:2\]", done)
    assert m, done
    _, done = r.cmd("COPY 1 Nowhere")
    assert b"NO [TRYCREATE]" in done, done
    untagged, done = r.cmd("UID MOVE 2:3 Trash")
    assert b"OK" in done, done
    assert re.match(rb"\* OK \[COPYUID \d+ 2:3 1:2\]", untagged[0]), untagged
    # the EXPUNGEs after the COPYUID, numbers right when each is read
    assert untagged[1:] == [b"* 3 EXPUNGE", b"* 2 EXPUNGE"], untagged
    untagged, _ = r.cmd("UID FETCH 1:* FLAGS")
    assert [u.split(b" ")[1] for u in untagged] == [b"1", b"2"], untagged
    assert b"UID 4" in untagged[1]
    untagged, _ = r.cmd("SELECT Trash")
    assert b"* 2 EXISTS" in untagged
    # into the selected mailbox itself: EXISTS with the reply
    untagged, done = r.cmd("COPY 1 Trash")
    assert b"* 3 EXISTS" in untagged and b"COPYUID" in done, (untagged, done)
    data = message(7)
    r.send(b"a1 APPEND Trash {%d+}\r\n%s\r\n" % (len(data), data))
    untagged, done = r.read_until("a1")
    assert b"* 4 EXISTS" in untagged and b"APPENDUID" in done, (untagged, done)
    r.close()


def test_expunge_forms(imap):
    r = raw(imap, "sel5@localhost")
    for i in range(5):
        append(r, "INBOX", i)
    r.ok("SELECT INBOX")
    r.ok("STORE 1:4 +FLAGS.SILENT (\\Deleted)")
    # UID EXPUNGE: only those of the set with \Deleted (RFC 4315 2.1)
    untagged, done = r.cmd("UID EXPUNGE 2:3,5")
    assert untagged == [b"* 3 EXPUNGE", b"* 2 EXPUNGE"], untagged
    untagged, _ = r.cmd("EXPUNGE")
    assert untagged == [b"* 2 EXPUNGE", b"* 1 EXPUNGE"], untagged
    untagged, _ = r.cmd("FETCH 1:* UID")
    assert untagged == [b"* 1 FETCH (UID 5)"], untagged
    # CLOSE expunges silently, UNSELECT not at all
    r.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
    r.ok("UNSELECT")
    untagged, _ = r.cmd("SELECT INBOX")
    assert b"* 1 EXISTS" in untagged
    untagged, done = r.cmd("CLOSE")
    assert untagged == [] and b"OK" in done, (untagged, done)
    untagged, _ = r.cmd("EXAMINE INBOX")
    assert b"* 0 EXISTS" in untagged
    r.close()


def test_two_sessions_updates_at_next_command(imap):
    a = raw(imap, "sel6@localhost", rev2=True)
    b = raw(imap, "sel6@localhost", rev2=True)
    for i in range(4):
        append(a, "INBOX", i)
    a.ok("SELECT INBOX")
    b.ok("SELECT INBOX")
    # b changes flags and expunges; a hears at its next command
    b.ok("STORE 2 +FLAGS.SILENT (\\Seen)")
    b.ok("STORE 3 +FLAGS.SILENT (\\Deleted)")
    b.ok("EXPUNGE")
    untagged = a.ok("NOOP")
    assert b"* 3 EXPUNGE" in untagged, untagged
    assert b"* 2 FETCH (UID 2 FLAGS (\\Seen))" in untagged, untagged
    # a's numbers follow: message 3 is now UID 4
    untagged, _ = a.cmd("FETCH 3 UID")
    assert untagged == [b"* 3 FETCH (UID 4)"], untagged
    # a new message: EXISTS at the next command, also during FETCH
    append(b, "INBOX", 9)
    untagged, _ = a.cmd("FETCH 1 UID")
    assert b"* 4 EXISTS" in untagged, untagged
    a.close()
    b.close()


def test_no_expunge_during_fetch_store_search(imap):
    a = raw(imap, "sel7@localhost", rev2=True)
    b = raw(imap, "sel7@localhost", rev2=True)
    for i in range(3):
        append(a, "INBOX", i)
    a.ok("SELECT INBOX")
    b.ok("SELECT INBOX")
    b.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
    b.ok("EXPUNGE")
    # RFC 9051 7.5.1: not during FETCH, STORE, SEARCH; numbers stay
    for command in ("FETCH 2:3 UID", "STORE 3 +FLAGS.SILENT (\\Flagged)", "SEARCH ALL"):
        untagged, done = a.cmd(command)
        assert b"OK" in done, (command, done)
        assert not any(b"EXPUNGE" in u for u in untagged), (command, untagged)
    untagged, _ = a.cmd("FETCH 2:3 UID")
    assert untagged == [b"* 2 FETCH (UID 2)", b"* 3 FETCH (UID 3)"], untagged
    # the gone message itself: NO [EXPUNGEISSUED], still no EXPUNGE
    untagged, done = a.cmd("FETCH 1 UID")
    assert b"EXPUNGEISSUED" in done and not untagged, (untagged, done)
    # the message b expunged is still message 1 here; NOOP tells
    untagged = a.ok("NOOP")
    assert b"* 1 EXPUNGE" in untagged, untagged
    untagged, _ = a.cmd("FETCH 1 UID")
    assert untagged == [b"* 1 FETCH (UID 2)"], untagged
    # UID FETCH allows them
    b.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
    b.ok("EXPUNGE")
    untagged, _ = a.cmd("UID FETCH 3 UID")
    assert b"* 1 EXPUNGE" in untagged, untagged
    a.close()
    b.close()


def test_uid_commands_on_unseen_uid(imap):
    """iOS and macOS Mail: a UID learnt from APPENDUID on another
    connection works at once, before this session was told of it."""
    a = raw(imap, "sel8@localhost", rev2=True)
    b = raw(imap, "sel8@localhost", rev2=True)
    append(a, "INBOX", 0)
    a.ok("SELECT INBOX")
    uid = append(b, "INBOX", 1)
    untagged, done = a.cmd("UID STORE %d +FLAGS (\\Flagged)" % uid)
    assert b"OK" in done, done
    assert b"* 2 EXISTS" in untagged, untagged
    assert b"* 2 FETCH (UID %d FLAGS (\\Flagged))" % uid in untagged, untagged
    uid = append(b, "INBOX", 2)
    untagged, done = a.cmd("UID COPY %d Archive" % uid)
    assert b"COPYUID" in done and b" %d " % uid in done, done
    uid = append(b, "INBOX", 3)
    untagged, done = a.cmd("UID MOVE %d Trash" % uid)
    assert b"* 4 EXISTS" in untagged and b"* 4 EXPUNGE" in untagged, untagged
    uid = append(b, "INBOX", 4)
    b.ok("SELECT INBOX")
    b.ok("UID STORE %d +FLAGS.SILENT (\\Deleted)" % uid)
    untagged, done = a.cmd("UID EXPUNGE %d" % uid)
    assert b"* 4 EXPUNGE" in untagged, untagged
    a.close()
    b.close()


def test_shared_view_numbers_stay_until_told(imap):
    """SELECT copies the view the account's handle keeps: a session's
    numbers and flags stay its own while another expunges and sets
    keywords, until it is told; a later SELECT sees the view brought up
    to date; FETCH (UID FLAGS) answered from the view lists keywords."""
    a = raw(imap, "sel9@localhost", rev2=True)
    b = raw(imap, "sel9@localhost", rev2=True)
    uids = [append(a, "INBOX", i) for i in range(4)]
    a.ok("SELECT INBOX")
    untagged = a.ok("FETCH 1:* (UID FLAGS)")
    assert untagged == [b"* %d FETCH (UID %d FLAGS ())" % (i + 1, u) for i, u in enumerate(uids)]
    b.ok("SELECT INBOX")
    b.ok("STORE 3 +FLAGS.SILENT ($Work \\Seen)")
    b.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
    b.ok("EXPUNGE")
    # b's own view: three messages, $Work on the second
    untagged = b.ok("FETCH 1:* (UID FLAGS)")
    assert untagged == [b"* 1 FETCH (UID %d FLAGS ())" % uids[1],
                        b"* 2 FETCH (UID %d FLAGS (\\Seen $Work))" % uids[2],
                        b"* 3 FETCH (UID %d FLAGS ())" % uids[3]], untagged
    # a has not been told: FETCH allows no EXPUNGE, message 4 is still 4
    untagged, done = a.cmd("FETCH 4 (UID)")
    assert b"OK" in done and b"* 4 FETCH (UID %d)" % uids[3] in untagged, untagged
    untagged = a.ok("NOOP")
    assert b"* 1 EXPUNGE" in untagged, untagged
    untagged = a.ok("FETCH 1:* (UID FLAGS)")
    assert untagged == [b"* 1 FETCH (UID %d FLAGS ())" % uids[1],
                        b"* 2 FETCH (UID %d FLAGS (\\Seen $Work))" % uids[2],
                        b"* 3 FETCH (UID %d FLAGS ())" % uids[3]], untagged
    # a new session's SELECT: the kept view, brought up to date
    c = raw(imap, "sel9@localhost", rev2=True)
    untagged = c.ok("SELECT INBOX")
    assert b"* 3 EXISTS" in untagged, untagged
    assert len(c.ok("UID FETCH 1:* (FLAGS)")) == 3
    untagged = c.ok("FETCH 2 (FLAGS)")
    assert untagged == [b"* 2 FETCH (FLAGS (\\Seen $Work))"], untagged
    for r in (a, b, c):
        r.close()


def deliver(imap, rcpt, n):
    s = smtplib.SMTP("127.0.0.1", imap.smtp_port, timeout=th.TIMEOUT)
    s.sendmail("a@example.org", [rcpt], message(n))
    s.quit()


def read_untagged_until(r, pattern, timeout):
    """Untagged lines up to one matching `pattern` (bytes regex), within
    `timeout` seconds."""
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


def test_idle_woken_by_delivery_and_other_session(imap):
    user = "idle1@localhost"
    imap.cmd("user", "add", user, input=th.PASSWORD + "\n")
    a = raw(imap, user, rev2=True)
    b = raw(imap, user, rev2=True)
    append(b, "INBOX", 0)
    a.ok("SELECT INBOX")
    b.ok("SELECT INBOX")
    a.send(b"i1 IDLE\r\n")
    assert a.readline() == b"+ idling\r\n"
    start = time.monotonic()
    deliver(imap, user, 1)
    sent = time.monotonic()
    seen = read_untagged_until(a, rb"^\* 2 EXISTS$", 5)
    # within a second of the delivery's end (RFC 2177: at once)
    assert time.monotonic() - sent < 1.0, (seen, time.monotonic() - start)
    # another session's flag change and expunge, while idling
    b.ok("STORE 1 +FLAGS.SILENT (\\Seen \\Deleted)")
    read_untagged_until(a, rb"^\* 1 FETCH \(UID 1 FLAGS \(\\Seen \\Deleted\)\)$", 2)
    b.ok("EXPUNGE")
    read_untagged_until(a, rb"^\* 1 EXPUNGE$", 2)
    a.send(b"DONE\r\n")
    untagged, done = a.read_until("i1")
    assert done == b"i1 OK IDLE completed", (untagged, done)
    untagged, _ = a.cmd("FETCH 1 UID")
    assert untagged == [b"* 1 FETCH (UID 2)"], untagged
    a.close()
    b.close()


def test_idle_done_with_commands_in_one_packet(imap):
    """iOS 18 Mail sends DONE and its next commands together."""
    user = "idle2@localhost"
    imap.cmd("user", "add", user, input=th.PASSWORD + "\n")
    a = raw(imap, user)
    append(a, "INBOX", 0)
    a.ok("SELECT INBOX")
    a.send(b"i1 IDLE\r\n")
    assert a.readline() == b"+ idling\r\n"
    a.send(b"DONE\r\ni2 NOOP\r\ni3 FETCH 1 UID\r\n")
    _, done = a.read_until("i1")
    assert done == b"i1 OK IDLE completed", done
    _, done = a.read_until("i2")
    assert done.startswith(b"i2 OK"), done
    untagged, done = a.read_until("i3")
    assert untagged == [b"* 1 FETCH (UID 1)"] and done.startswith(b"i3 OK"), (untagged, done)
    # IDLE, DONE and a command all at once, before any "+ idling" is read
    a.send(b"i4 IDLE\r\nDONE\r\ni5 NOOP\r\n")
    assert a.readline() == b"+ idling\r\n"
    _, done = a.read_until("i4")
    assert done == b"i4 OK IDLE completed", done
    _, done = a.read_until("i5")
    assert done.startswith(b"i5 OK"), done
    # anything else than DONE ends IDLE with BAD
    a.send(b"i6 IDLE\r\n")
    assert a.readline() == b"+ idling\r\n"
    a.send(b"NOOP\r\n")
    _, done = a.read_until("i6")
    assert done.startswith(b"i6 BAD"), done
    a.ok("NOOP")
    # IDLE in the authenticated state too: DONE ends it
    a.ok("UNSELECT")
    a.send(b"i7 IDLE\r\n")
    assert a.readline() == b"+ idling\r\n"
    a.send(b"done\r\n")
    _, done = a.read_until("i7")
    assert done == b"i7 OK IDLE completed", done
    a.close()


def new_user(imap, name):
    user = "%s@localhost" % name
    imap.cmd("user", "add", user, input=th.PASSWORD + "\n")
    return user


def test_delete_of_selected_mailbox(imap):
    """As Dovecot: the session that has it selected gets BYE."""
    user = new_user(imap, "del1")
    a = raw(imap, user)
    b = raw(imap, user)
    a.ok("CREATE Projects")
    append(a, "Projects", 0)
    a.ok("SELECT Projects")
    b.ok("DELETE Projects")
    a.send(b"n1 NOOP\r\n")
    line = a.response_line()
    assert line.startswith(b"* BYE"), line
    with pytest.raises((EOFError, OSError)):
        a.response_line()
    # while idling: at once
    c = raw(imap, user)
    c.ok("CREATE Projects")
    c.ok("SELECT Projects")
    c.send(b"i1 IDLE\r\n")
    assert c.readline() == b"+ idling\r\n"
    b.ok("DELETE Projects")
    seen = read_untagged_until(c, rb"^\* BYE", 2)
    assert seen[-1].startswith(b"* BYE"), seen
    # a mailbox made again under the name is another one
    b.ok("CREATE Projects")
    untagged = b.ok("SELECT Projects")
    assert b"* 0 EXISTS" in untagged
    a.close()
    b.close()
    c.close()


def test_rename_while_child_selected(imap):
    """The child session keeps working on its mailbox's id."""
    user = new_user(imap, "ren1")
    a = raw(imap, user, rev2=True)
    b = raw(imap, user, rev2=True)
    a.ok("CREATE Work/Reports")
    append(a, "Work/Reports", 0)
    append(a, "Work/Reports", 1)
    a.ok("SELECT Work/Reports")
    b.ok("RENAME Work Job")
    untagged = a.ok("NOOP")
    assert not any(b"BYE" in u for u in untagged), untagged
    untagged = a.ok("STORE 1 +FLAGS (\\Flagged)")
    assert untagged == [b"* 1 FETCH (FLAGS (\\Flagged))"], untagged
    untagged, done = a.cmd("COPY 2 Job")
    assert b"COPYUID" in done, done
    a.ok("STORE 2 +FLAGS.SILENT (\\Deleted)")
    untagged = a.ok("EXPUNGE")
    assert untagged == [b"* 2 EXPUNGE"], untagged
    # the other session sees it all under the new name
    untagged = b.ok("SELECT Job/Reports")
    assert b"* 1 EXISTS" in untagged, untagged
    untagged, _ = b.cmd("FETCH 1 FLAGS")
    assert untagged == [b"* 1 FETCH (FLAGS (\\Flagged))"], untagged
    _, done = b.cmd("SELECT Work/Reports")
    assert b"NO [NONEXISTENT]" in done, done
    a.close()
    b.close()


def test_store_keyword_limit_and_pipelined_store(imap):
    user = new_user(imap, "kw1")
    r = raw(imap, user, rev2=True)
    append(r, "INBOX", 0)
    r.ok("SELECT INBOX")
    words = " ".join("k%d" % i for i in range(101))
    _, done = r.cmd("STORE 1 +FLAGS (%s)" % words)
    assert b"NO [LIMIT]" in done, done
    # the mailbox's bound: 100 kept, the 101st refused
    r.ok("STORE 1 +FLAGS (%s)" % " ".join("k%d" % i for i in range(100)))
    _, done = r.cmd("STORE 1 +FLAGS (another)")
    assert b"NO [LIMIT]" in done, done
    untagged = r.ok("SELECT INBOX")
    assert any(b"PERMANENTFLAGS" in u and b"\\*" not in u for u in untagged), untagged
    r.close()


def test_many_messages_store_and_expunge_paced(imap):
    """A STORE over many messages, and their EXPUNGEs, reach a client
    that reads slowly, whole and in order."""
    user = new_user(imap, "many1")
    r = raw(imap, user, rev2=True)
    n = 300
    data = message(0)
    for _ in range(n // 100):     # MULTIAPPEND: 100 a command
        tag = r.next_tag()
        r.send(tag.encode() + b" APPEND INBOX" +
               b"".join(b" {%d+}\r\n%s" % (len(data), data) for _ in range(100)) + b"\r\n")
        _, done = r.read_until(tag)
        assert b"OK" in done, done
    r.ok("SELECT INBOX")
    other = raw(imap, user, rev2=True)
    other.ok("SELECT INBOX")
    untagged = r.ok("STORE 1:* +FLAGS (\\Deleted)")
    assert len(untagged) == n and untagged[-1] == b"* %d FETCH (FLAGS (\\Deleted))" % n
    # the other session's updates are as long; it goes before reading them
    other.send(b"n1 NOOP\r\n")
    other.close()
    r.send(b"e1 EXPUNGE\r\n")
    time.sleep(0.5)     # let the server's output fill while we do not read
    untagged, done = r.read_until("e1")
    assert done.startswith(b"e1 OK"), done
    assert untagged == [b"* %d EXPUNGE" % i for i in range(n, 0, -1)], untagged[:3]
    r.close()


def test_idle_outlives_the_idle_timeout():
    """Inside IDLE the [imap] idle_timeout does not cut the client (as
    Dovecot: the keepalive shows it is there); after DONE it applies."""
    with th.imap_tern({"imap.idle_timeout": "2"}) as t:
        a = raw(t, th.USER)
        a.ok("SELECT INBOX")
        a.send(b"i1 IDLE\r\n")
        assert a.readline() == b"+ idling\r\n"
        time.sleep(3.5)
        a.send(b"DONE\r\n")
        _, done = a.read_until("i1")
        assert done == b"i1 OK IDLE completed", done
        # quiet again, out of IDLE: autologout
        a.sock.settimeout(10)
        line = a.response_line()
        assert line.startswith(b"* BYE"), line
        a.close()


def test_saved_search_result_in_store_and_move(imap):
    """SEARCHRES (RFC 5182): "$" names the saved UIDs in STORE and MOVE."""
    user = new_user(imap, "save1")
    r = raw(imap, user, rev2=True)
    for i in range(4):
        append(r, "INBOX", i)
    r.ok("SELECT INBOX")
    r.ok("STORE 2,4 +FLAGS.SILENT (\\Flagged)")
    r.ok("SEARCH RETURN (SAVE) FLAGGED")
    untagged = r.ok("UID STORE $ +FLAGS (\\Seen)")
    assert untagged == [b"* 2 FETCH (UID 2 FLAGS (\\Seen \\Flagged))",
                        b"* 4 FETCH (UID 4 FLAGS (\\Seen \\Flagged))"], untagged
    untagged = r.ok("MOVE $ Trash")
    assert re.match(rb"\* OK \[COPYUID \d+ 2,4 1:2\]", untagged[0]), untagged
    assert untagged[1:] == [b"* 4 EXPUNGE", b"* 2 EXPUNGE"], untagged
    r.close()


def test_idle_keepalive_and_no_idle_timeout():
    """[imap] idle_keepalive: "* OK Still here" while idling, every
    interval; an idling client outlives [imap] idle_timeout."""
    with th.imap_tern({"imap.idle_keepalive": "1", "imap.idle_timeout": "1"}) as t:
        r = th.RawIMAP(t.imaps_port, tls=True)
        r.login()
        r.ok("SELECT INBOX")
        r.send(b"i IDLE\r\n")
        assert r.readline() == b"+ idling\r\n"
        start = time.monotonic()
        for _ in range(3):
            assert r.readline() == b"* OK Still here\r\n"
        assert time.monotonic() - start >= 2.5
        r.send(b"DONE\r\n")
        _, done = r.read_until("i")
        assert done == b"i OK IDLE completed", done
        r.close()
