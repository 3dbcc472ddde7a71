# test_imap_search - SEARCH and UID SEARCH as clients send them: every
# search key of RFC 9051 6.4.4 on a small corpus (a quoted-printable and a
# base64 UTF-8 body, an RFC 2047 subject, a Latin-1 part, an attachment
# that must not match, a message inside a message), NOT/OR nesting,
# CHARSET errors, ESEARCH result options (RFC 4731) and rev2's ESEARCH,
# SAVE and "$" (RFC 5182), system flags from the view (and another
# session's changes once told), and a SEARCH over 2,000 messages while another
# session keeps working on the same loop.
import base64
import imaplib
import time

import pytest

import tern_harness as th

UTF8_QP = (
    "From: =?utf-8?q?J=C3=B6rg_M=C3=BCller?= <jorg@example.org>\n"
    "To: Demo <demo@localhost>\n"
    "Cc: Carol <carol@example.org>\n"
    "Subject: =?utf-8?b?UsOpdW5pb24gZGUgcHJvamV0?=\n"
    "Date: Mon, 30 Nov 2026 09:00:00 +0100\n"
    "MIME-Version: 1.0\n"
    "Content-Type: text/plain; charset=utf-8\n"
    "Content-Transfer-Encoding: quoted-printable\n"
    "X-Project: tern-search\n"
    "\n"
    "Bonjour, la r=C3=A9union est d=C3=A9plac=C3=A9e =C3=A0 jeudi.\n"
    "Grande salle, soft=\n"
    "break here.\n"
).encode()

CYRILLIC = "Привет, мир! Совещание в пятницу."
MULTI = (
    "From: Ivan <ivan@example.ru>\n"
    "To: Demo <demo@localhost>\n"
    "Bcc: hidden@example.org\n"
    "Subject: multipart news\n"
    "Date: Tue, 1 Dec 2026 18:30:00 -0800\n"
    "MIME-Version: 1.0\n"
    "Content-Type: multipart/mixed; boundary=\"BB\"\n"
    "\n"
    "--BB\n"
    "Content-Type: text/plain; charset=utf-8\n"
    "Content-Transfer-Encoding: base64\n"
    "\n"
    "%s\n"
    "--BB\n"
    "Content-Type: text/plain; charset=iso-8859-1\n"
    "Content-Transfer-Encoding: quoted-printable\n"
    "\n"
    "Caf=E9 cr=E8me\n"
    "--BB\n"
    "Content-Type: application/octet-stream\n"
    "Content-Transfer-Encoding: base64\n"
    "\n"
    "%s\n"
    "--BB\n"
    "Content-Type: message/rfc822\n"
    "\n"
    "Subject: forwarded =?iso-8859-1?q?=E9t=E9?=\n"
    "\n"
    "inner words\n"
    "--BB--\n"
    % (base64.encodebytes(CYRILLIC.encode()).decode().strip(),
       base64.encodebytes(b"attachment-secret").decode().strip())
).encode()

PLAIN = th.make_message(3, subject="plain third", body=b"nothing special\n")
NODATE = (b"From: x@example.org\nSubject: no date\n\nbody without a date\n")


def lit(data):
    """A non-synchronizing literal (RFC 7888 LITERAL+)."""
    return b"{%d+}\r\n" % len(data) + data


def rev1_search(r, text):
    """The numbers of "* SEARCH" for a command; checks the tagged OK."""
    untagged, done = r.cmd(text)
    assert b" OK" in done, (text, done)
    lines = [u for u in untagged if u.startswith(b"* SEARCH")]
    assert len(lines) == 1, (text, untagged)
    return [int(x) for x in lines[0].split()[2:]]


@pytest.fixture(scope="module")
def srv():
    t = th.Tern({"listen.imap": "127.0.0.1:%d" % th.free_port(),
                 "listen.imaps": "127.0.0.1:%d" % th.free_port(),
                 "server.threads": "1",
                 # small, so that a "* SEARCH" of 2,000 numbers meets the
                 # high-water mark and goes on when it drains
                 "limits.output_buffer": "1K"})
    try:
        t.setup_accounts()
        t.import_mbox(th.USER, [UTF8_QP, MULTI, PLAIN, NODATE])
        many = [th.make_message(i, extra_lines=40) for i in range(2000)]
        many[1234] = th.make_message(1234, body=b"the needle is here\n", extra_lines=40)
        t.import_mbox(th.USER2, many)
        t.imaps_port = int(t.sets["listen.imaps"].rsplit(":", 1)[1])
        t.server = t.start()
        yield t
    finally:
        problems = t.cleanup()
        assert not problems, "sanitizer reports:\n" + "\n".join(problems)


def session(srv, user=th.USER, mailbox="INBOX"):
    r = th.RawIMAP(srv.imaps_port, tls=True)
    r.login(user, th.PASSWORD2 if user == th.USER2 else th.PASSWORD)
    r.ok("SELECT %s" % mailbox)
    return r


@pytest.fixture(scope="module")
def flagged(srv):
    """Flags on the corpus: 1 \\Seen \\Flagged, 2 \\Answered $Work, 3
    \\Deleted \\Draft, 4 nothing."""
    r = session(srv)
    r.ok("STORE 1 +FLAGS (\\Seen \\Flagged)")
    r.ok("STORE 2 +FLAGS (\\Answered $Work)")
    r.ok("STORE 3 +FLAGS (\\Deleted \\Draft)")
    r.close()
    return True


def test_capability(srv):
    r = th.RawIMAP(srv.imaps_port, tls=True)
    untagged = r.login()
    r.ok("SELECT INBOX")
    untagged = r.ok("CAPABILITY")
    assert b" ESEARCH" in untagged[0] and b" SEARCHRES" in untagged[0]
    r.close()


def test_flag_keys(srv, flagged):
    r = session(srv)
    assert rev1_search(r, "SEARCH ALL") == [1, 2, 3, 4]
    assert rev1_search(r, "SEARCH SEEN") == [1]
    assert rev1_search(r, "SEARCH UNSEEN") == [2, 3, 4]
    assert rev1_search(r, "SEARCH FLAGGED") == [1]
    assert rev1_search(r, "SEARCH UNFLAGGED") == [2, 3, 4]
    assert rev1_search(r, "SEARCH ANSWERED") == [2]
    assert rev1_search(r, "SEARCH UNANSWERED") == [1, 3, 4]
    assert rev1_search(r, "SEARCH DELETED") == [3]
    assert rev1_search(r, "SEARCH UNDELETED") == [1, 2, 4]
    assert rev1_search(r, "SEARCH DRAFT") == [3]
    assert rev1_search(r, "SEARCH UNDRAFT") == [1, 2, 4]
    assert rev1_search(r, "SEARCH KEYWORD $Work") == [2]
    assert rev1_search(r, "SEARCH KEYWORD $work") == [2]
    assert rev1_search(r, "SEARCH UNKEYWORD $Work") == [1, 3, 4]
    assert rev1_search(r, "SEARCH KEYWORD $Nope") == []
    # rev1: the messages were imported, none is \Recent for this session
    # once another took them; OLD is NOT RECENT, NEW is RECENT UNSEEN
    assert rev1_search(r, "SEARCH OLD") == [1, 2, 3, 4]
    assert rev1_search(r, "SEARCH RECENT") == []
    assert rev1_search(r, "SEARCH NEW") == []
    r.close()


def test_recent_new_old(srv):
    """rev1 \\Recent: the first session to select a mailbox after a
    message arrived sees it recent (RFC 3501 2.3.2)."""
    r = th.RawIMAP(srv.imaps_port, tls=True)
    r.login()
    r.ok("CREATE Fresh")
    msg = th.crlf(th.make_message(7, subject="fresh one"))
    r.ok(b"APPEND Fresh (\\Seen) " + lit(msg))
    r.ok(b"APPEND Fresh " + lit(msg))
    r.ok("SELECT Fresh")
    assert rev1_search(r, "SEARCH RECENT") == [1, 2]
    assert rev1_search(r, "SEARCH NEW") == [2]
    assert rev1_search(r, "SEARCH OLD") == []
    assert rev1_search(r, "SEARCH NOT RECENT") == []
    # a second session gets none of them
    r2 = th.RawIMAP(srv.imaps_port, tls=True)
    r2.login()
    r2.ok("SELECT Fresh")
    assert rev1_search(r2, "SEARCH RECENT") == []
    assert rev1_search(r2, "SEARCH OLD") == [1, 2]
    r.close()
    r2.close()


def test_uid_search_sees_a_new_message_at_once(srv):
    """UID SEARCH catches up with a message another session appended
    (iOS and macOS Mail use UIDs they learnt elsewhere): its EXISTS comes
    first, then the answer that holds it."""
    r = th.RawIMAP(srv.imaps_port, tls=True)
    r.login()
    r.ok("CREATE Later")
    r.ok("SELECT Later")
    other = th.RawIMAP(srv.imaps_port, tls=True)
    other.login()
    other.ok(b"APPEND Later " + lit(th.crlf(th.make_message(8, subject="late one"))))
    other.close()
    untagged, tagged = r.cmd("UID SEARCH SUBJECT late")
    assert b" OK" in tagged, tagged
    assert b"* 1 EXISTS" in untagged, untagged
    assert b"* SEARCH 1" in untagged, untagged
    r.close()


def test_size_date_set_keys(srv, flagged):
    r = session(srv)
    sizes = {}
    untagged = r.ok("FETCH 1:4 RFC822.SIZE")
    for u in untagged:
        parts = u.split()
        sizes[int(parts[1])] = int(parts[-1].rstrip(b")"))
    s2 = sizes[2]
    assert rev1_search(r, "SEARCH LARGER %d" % (s2 - 1)) == [n for n in sizes if sizes[n] > s2 - 1]
    assert rev1_search(r, "SEARCH SMALLER %d" % s2) == [n for n in sizes if sizes[n] < s2]
    assert 2 not in rev1_search(r, "SEARCH LARGER %d" % s2)
    # internal dates: the mbox's From line, 26 Nov 2026
    assert rev1_search(r, "SEARCH ON 26-Nov-2026") == [1, 2, 3, 4]
    assert rev1_search(r, "SEARCH BEFORE 26-Nov-2026") == []
    assert rev1_search(r, "SEARCH BEFORE 27-Nov-2026") == [1, 2, 3, 4]
    assert rev1_search(r, "SEARCH SINCE 26-Nov-2026") == [1, 2, 3, 4]
    assert rev1_search(r, "SEARCH SINCE \"27-Nov-2026\"") == []
    # Date: headers, time and zone disregarded (1's is 30 Nov 09:00 +0100)
    assert rev1_search(r, "SEARCH SENTON 30-Nov-2026") == [1]
    assert rev1_search(r, "SEARCH SENTON 1-Dec-2026") == [2]
    assert rev1_search(r, "SEARCH SENTBEFORE 1-Dec-2026") == [1, 3]
    assert rev1_search(r, "SEARCH SENTSINCE 1-Dec-2026") == [2]
    assert rev1_search(r, "SEARCH NOT SENTSINCE 1-Jan-1990") == [4]   # no Date:
    # sequence sets and UID sets
    assert rev1_search(r, "SEARCH 2:3") == [2, 3]
    assert rev1_search(r, "SEARCH 3:*") == [3, 4]
    assert rev1_search(r, "SEARCH *") == [4]
    assert rev1_search(r, "SEARCH 1,4") == [1, 4]
    assert rev1_search(r, "SEARCH 9:10") == []
    assert rev1_search(r, "SEARCH UID 2,4") == [2, 4]
    assert rev1_search(r, "UID SEARCH UID 3:*") == [3, 4]
    assert rev1_search(r, "UID SEARCH UID 100:*") == [4]    # "*" is the largest UID
    r.close()


def test_text_keys(srv):
    r = session(srv)
    # RFC 2047 subject, UTF-8 searched by a literal, any case
    assert rev1_search(r, b"SEARCH CHARSET UTF-8 SUBJECT " + lit(b"R\xc3\x89UNION")) == [1]
    assert rev1_search(r, b"SEARCH CHARSET UTF-8 FROM " + lit(b"m\xc3\xbcller")) == [1]
    assert rev1_search(r, "SEARCH FROM example.ru") == [2]
    assert rev1_search(r, "SEARCH TO demo@localhost") == [1, 2, 3]
    assert rev1_search(r, "SEARCH CC carol") == [1]
    assert rev1_search(r, "SEARCH BCC hidden") == [2]
    assert rev1_search(r, "SEARCH SUBJECT \"multipart news\"") == [2]
    assert rev1_search(r, "SEARCH HEADER X-Project tern") == [1]
    assert rev1_search(r, "SEARCH HEADER X-Project \"\"") == [1]
    assert rev1_search(r, "SEARCH HEADER Message-ID msg-3") == [3]
    # quoted-printable UTF-8 body
    assert rev1_search(r, b"SEARCH CHARSET UTF-8 BODY " + lit(b"r\xc3\xa9union est d\xc3\xa9plac")) == [1]
    assert rev1_search(r, "SEARCH BODY softbreak") == [1]
    # base64 UTF-8 Cyrillic, in another case
    assert rev1_search(r, b"SEARCH CHARSET UTF-8 BODY " + lit("СОВЕЩАНИЕ".encode())) == [2]
    # Latin-1 part converted
    assert rev1_search(r, b"SEARCH CHARSET UTF-8 BODY " + lit(b"CAF\xc3\x89 CR\xc3\x88ME")) == [2]
    # the attachment is not text; the inner message's header is body text
    assert rev1_search(r, "SEARCH BODY attachment-secret") == []
    assert rev1_search(r, "SEARCH TEXT attachment-secret") == []
    assert rev1_search(r, b"SEARCH CHARSET UTF-8 BODY " + lit(b"forwarded \xc3\xa9t\xc3\xa9")) == [2]
    assert rev1_search(r, "SEARCH BODY \"inner words\"") == [2]
    assert rev1_search(r, "SEARCH SUBJECT forwarded") == []
    # TEXT: header or body
    assert rev1_search(r, "SEARCH TEXT jorg@example") == [1]
    assert rev1_search(r, "SEARCH TEXT \"without a date\"") == [4]
    assert rev1_search(r, "SEARCH BODY jorg@example") == []
    assert rev1_search(r, "SEARCH TEXT nowhere-at-all") == []
    # US-ASCII is fine too
    assert rev1_search(r, "SEARCH CHARSET US-ASCII BODY special") == [3]
    r.close()


def test_not_or_nesting(srv, flagged):
    r = session(srv)
    assert rev1_search(r, "SEARCH NOT SEEN") == [2, 3, 4]
    assert rev1_search(r, "SEARCH NOT NOT SEEN") == [1]
    assert rev1_search(r, "SEARCH OR SEEN ANSWERED") == [1, 2]
    assert rev1_search(r, "SEARCH OR (SEEN FLAGGED) (DELETED DRAFT)") == [1, 3]
    assert rev1_search(r, "SEARCH NOT OR SEEN DELETED") == [2, 4]
    assert rev1_search(r, "SEARCH OR OR SEEN ANSWERED DRAFT") == [1, 2, 3]
    assert rev1_search(r, "SEARCH (OR BODY softbreak BODY special) NOT DELETED") == [1]
    assert rev1_search(r, "SEARCH OR SUBJECT plain NOT OR FROM ivan FROM jorg") == [3, 4]
    assert rev1_search(r, "SEARCH UNSEEN (NOT (KEYWORD $Work)) 1:3") == [3]
    r.close()


def test_errors(srv):
    r = session(srv)
    _, done = r.cmd("SEARCH CHARSET ISO-8859-1 SUBJECT x")
    assert done.split()[1:3] == [b"NO", b"[BADCHARSET"] and b"(UTF-8 US-ASCII)]" in done, done
    _, done = r.cmd("SEARCH CHARSET KOI8-R ALL")
    assert b"NO [BADCHARSET (UTF-8 US-ASCII)]" in done, done
    for bad in ("SEARCH", "SEARCH FOO", "SEARCH NOT", "SEARCH OR SEEN", "SEARCH ()",
                "SEARCH LARGER x", "SEARCH ON 32-Jan-2026", "SEARCH UID x",
                "SEARCH RETURN (FOO) ALL", "SEARCH HEADER Subject"):
        _, done = r.cmd(bad)
        assert b" BAD " in done, (bad, done)
    _, done = r.cmd("SEARCH " + "NOT " * 200 + "ALL")
    assert b" BAD [LIMIT]" in done, done
    # the session goes on
    assert rev1_search(r, "SEARCH ALL") == [1, 2, 3, 4]
    r.close()
    # not selected: BAD or NO, never a crash
    r = th.RawIMAP(srv.imaps_port, tls=True)
    r.login()
    _, done = r.cmd("SEARCH ALL")
    assert b" BAD " in done or b" NO " in done, done
    r.close()


def esearch(r, text, tag=None):
    tag = tag or r.next_tag()
    untagged, done = r.cmd(text, tag=tag)
    assert b" OK" in done, (text, done)
    es = [u for u in untagged if u.startswith(b"* ESEARCH")]
    assert not [u for u in untagged if u.startswith(b"* SEARCH")], untagged
    return es


def test_esearch(srv, flagged):
    r = session(srv)
    es = esearch(r, "SEARCH RETURN (MIN MAX COUNT ALL) NOT SEEN", tag="a1")
    assert es == [b'* ESEARCH (TAG "a1") MIN 2 MAX 4 COUNT 3 ALL 2:4']
    es = esearch(r, "UID SEARCH RETURN (COUNT) ALL", tag="a2")
    assert es == [b'* ESEARCH (TAG "a2") UID COUNT 4']
    es = esearch(r, "SEARCH RETURN () OR SEEN DELETED", tag="a3")
    assert es == [b'* ESEARCH (TAG "a3") ALL 1,3']
    es = esearch(r, "SEARCH RETURN (MIN) FLAGGED", tag="a4")
    assert es == [b'* ESEARCH (TAG "a4") MIN 1']
    # no match: the response is still sent, without MIN, MAX, ALL
    es = esearch(r, "SEARCH RETURN (MIN MAX ALL) KEYWORD $Nope", tag="a5")
    assert es == [b'* ESEARCH (TAG "a5")']
    es = esearch(r, "UID SEARCH RETURN (MIN COUNT) KEYWORD $Nope", tag="a6")
    assert es == [b'* ESEARCH (TAG "a6") UID COUNT 0']
    r.close()


def test_rev2_always_esearch(srv, flagged):
    r = th.RawIMAP(srv.imaps_port, tls=True)
    r.login()
    r.ok("ENABLE IMAP4rev2")        # RFC 5161 3.1: before SELECT
    r.ok("SELECT INBOX")
    es = esearch(r, "SEARCH UNSEEN", tag="b1")
    assert es == [b'* ESEARCH (TAG "b1") ALL 2:4']
    es = esearch(r, "UID SEARCH KEYWORD $Nope", tag="b2")
    assert es == [b'* ESEARCH (TAG "b2") UID']
    r.close()


def test_save_and_dollar(srv, flagged):
    r = session(srv)
    # SAVE alone: no response, "$" set
    untagged, done = r.cmd("SEARCH RETURN (SAVE) NOT SEEN")
    assert b" OK" in done and not [u for u in untagged if b"SEARCH" in u], untagged
    assert rev1_search(r, "SEARCH $") == [2, 3, 4]
    assert rev1_search(r, "UID SEARCH UID $") == [2, 3, 4]
    assert rev1_search(r, "SEARCH $ DELETED") == [3]
    untagged = r.ok("FETCH $ (UID)")
    assert len([u for u in untagged if b" FETCH " in u]) == 3
    # SAVE with MIN/MAX only saves those (RFC 9051 6.4.4.1)
    es = esearch(r, "SEARCH RETURN (SAVE MIN MAX) NOT SEEN", tag="c1")
    assert es == [b'* ESEARCH (TAG "c1") MIN 2 MAX 4']
    assert rev1_search(r, "SEARCH $") == [2, 4]
    es = esearch(r, "SEARCH RETURN (SAVE MIN) NOT SEEN", tag="c2")
    assert rev1_search(r, "SEARCH $") == [2]
    es = esearch(r, "SEARCH RETURN (SAVE MIN COUNT) NOT SEEN", tag="c3")
    assert es == [b'* ESEARCH (TAG "c3") MIN 2 COUNT 3']
    assert rev1_search(r, "SEARCH $") == [2, 3, 4]
    # a SEARCH without SAVE leaves it; an empty result empties it
    rev1_search(r, "SEARCH SEEN")
    assert rev1_search(r, "SEARCH $") == [2, 3, 4]
    r.ok("SEARCH RETURN (SAVE) KEYWORD $Nope")
    assert rev1_search(r, "SEARCH $") == []
    # SELECT resets it
    r.ok("SEARCH RETURN (SAVE) ALL")
    r.ok("SELECT INBOX")
    assert rev1_search(r, "SEARCH $") == []
    r.close()


def test_imaplib(srv, flagged):
    m = imaplib.IMAP4_SSL("127.0.0.1", srv.imaps_port, ssl_context=th.tls_client_context())
    m.login(th.USER, th.PASSWORD)
    m.select("INBOX", readonly=True)
    typ, data = m.search(None, "UNSEEN")
    assert typ == "OK" and data == [b"2 3 4"]
    typ, data = m.uid("SEARCH", "OR", "FROM", "ivan", "SUBJECT", "plain")
    assert typ == "OK" and data == [b"2 3"]
    m.literal = "Müller".encode()
    typ, data = m.search("UTF-8", "FROM")
    assert typ == "OK" and data == [b"1"]
    m.logout()


def test_search_2000_while_another_session_works(srv):
    """A TEXT search over 2,000 messages runs in jobs: a second session on
    the same (single) I/O loop is answered meanwhile."""
    a = session(srv, user=th.USER2)
    b = session(srv, user=th.USER2)
    assert rev1_search(a, "SEARCH BODY \"the needle is here\"") == [1235]
    a.send(b"s1 SEARCH TEXT \"not-in-any-message\"\r\n")
    answered_during = 0
    t0 = time.monotonic()
    while True:
        b.ok("NOOP")
        b.ok("FETCH 1 (FLAGS)")
        answered_during += 1
        a.sock.setblocking(False)
        try:
            a._fill()
        except (BlockingIOError, OSError):
            pass
        a.sock.setblocking(True)
        a.sock.settimeout(th.TIMEOUT)
        if b"s1 OK" in a.buf or time.monotonic() - t0 > th.TIMEOUT:
            break
    untagged, done = a.read_until("s1")
    assert b"s1 OK" in done, done
    assert untagged == [b"* SEARCH"], untagged
    # The other session got answers while the search ran.
    assert answered_during >= 2, answered_during
    # 2,000 numbers in "* SEARCH", written in pieces
    assert rev1_search(a, "SEARCH ALL") == list(range(1, 2001))
    assert rev1_search(a, "UID SEARCH 1:*") == list(range(1, 2001))
    es = esearch(a, "SEARCH RETURN (COUNT MIN MAX) SUBJECT \"Test message\"", tag="d1")
    assert es == [b'* ESEARCH (TAG "d1") MIN 1 MAX 2000 COUNT 2000']
    a.close()
    b.close()


def test_flag_keys_read_the_view_and_follow_other_sessions(srv):
    """System flags are answered from the session's view: its own STORE at
    once; another session's change once this session is told of it (UID
    SEARCH catches up first, as with new messages)."""
    a = session(srv, user=th.USER2)
    b = session(srv, user=th.USER2)
    assert rev1_search(b, "SEARCH FLAGGED") == []
    b.ok("STORE 7 +FLAGS (\\Flagged)")
    assert rev1_search(b, "SEARCH FLAGGED") == [7]
    assert rev1_search(b, "SEARCH UNFLAGGED 5:9") == [5, 6, 8, 9]
    assert rev1_search(a, "UID SEARCH FLAGGED") == [7]
    assert rev1_search(a, "SEARCH FLAGGED") == [7]
    assert rev1_search(a, "SEARCH OR FLAGGED 1:3") == [1, 2, 3, 7]
    assert rev1_search(a, "SEARCH FLAGGED UNSEEN NOT 1:3") == [7]
    b.ok("STORE 7 -FLAGS (\\Flagged)")
    assert rev1_search(b, "SEARCH FLAGGED") == []
    a.close()
    b.close()
