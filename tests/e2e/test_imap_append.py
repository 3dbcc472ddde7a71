# test_imap_append - APPEND with imaplib, a raw client and curl: flags,
# keywords and the internal date, synchronizing and non-synchronizing
# literals, APPENDUID, TRYCREATE, MULTIAPPEND all or nothing, bare LF
# stored as CRLF (eM Client), a 30 MB message read back by POP3, a
# literal over [limits] message_size refused before it is sent, a client
# that disconnects in the middle of a literal (nothing left behind), and
# curl's upload (-T) over imap:// with --ssl-reqd and imaps://.
import glob
import imaplib
import os
import re
import shutil
import subprocess
import time

import pytest

import tern_harness as th

SIZE_LIMIT = 40 * 1024 * 1024


@pytest.fixture(scope="module")
def imap():
    with th.imap_tern({"limits.message_size": str(SIZE_LIMIT)}) as t:
        yield t


@pytest.fixture
def raw(imap):
    r = th.RawIMAP(imap.imaps_port, tls=True)
    r.login()
    yield r
    r.close()


def status(raw, box, item="MESSAGES"):
    untagged = raw.ok("STATUS %s (%s)" % (box, item))
    return int(re.search(rb"%s (\d+)" % item.encode(), untagged[0]).group(1))


def appenduid(done):
    m = re.search(rb"\[APPENDUID (\d+) ([\d:,]+)\]", done)
    assert m, done
    return int(m.group(1)), m.group(2).decode()


def pop_inbox(imap):
    p = th.pop_ssl_retry(imap.pop3s_port)
    try:
        return th.retr_all(p)
    finally:
        p.quit()


def tmp_files(imap, user=th.USER):
    local, domain = user.split("@")
    return glob.glob(os.path.join(imap.data_dir, "mail", domain, local, "msg", "tmp.*"))


def test_append_flags_date_and_appenduid(raw):
    raw.ok("CREATE Box1")
    msg = th.crlf(th.make_message(1))
    raw.send(b'a APPEND Box1 (\\Seen \\Flagged $Label1) "05-Mar-2021 10:20:30 +0100" {%d}\r\n'
             % len(msg))
    assert raw.readline() == b"+ Ready for literal data\r\n"
    raw.send(msg + b"\r\n")
    _, done = raw.read_until("a")
    uidvalidity, uids = appenduid(done)
    assert uids == "1"
    untagged = raw.ok("STATUS Box1 (MESSAGES UIDVALIDITY UNSEEN SIZE)")
    assert untagged == [b'* STATUS "Box1" (MESSAGES 1 UIDVALIDITY %d UNSEEN 0 SIZE %d)'
                        % (uidvalidity, len(msg))], untagged
    _, done = raw.cmd('APPEND Box1 (\\Bogus) {1+}\r\nx')
    assert b"BAD" in done, done
    _, done = raw.cmd('APPEND Box1 "32-Jan-2021 10:20:30 +0100" {1+}\r\nx')
    assert b"BAD" in done, done
    assert status(raw, "Box1") == 1


def test_append_nonsync_and_trycreate(raw):
    msg = th.crlf(th.make_message(2))
    _, done = raw.cmd(b"APPEND INBOX {%d+}\r\n" % len(msg) + msg)
    assert b"OK [APPENDUID" in done, done
    # a missing mailbox: NO [TRYCREATE] before the "+" of a synchronizing
    # literal, so the client never sends the bytes
    raw.send(b"b APPEND Missing {%d}\r\n" % len(msg))
    _, done = raw.read_until("b")
    assert done.startswith(b"b NO [TRYCREATE]"), done
    # a non-synchronizing one is read and dropped: the session stays in step
    _, done = raw.cmd(b"APPEND Missing {%d+}\r\n" % len(msg) + msg)
    assert b"NO [TRYCREATE]" in done, done
    raw.ok("NOOP")


def test_multiappend_all_or_nothing(imap, raw):
    raw.ok("CREATE Multi")
    msgs = [th.crlf(th.make_message(10 + i)) for i in range(3)]
    cmd = b"APPEND Multi"
    for i, m in enumerate(msgs):
        cmd += b" (\\Seen) {%d+}\r\n" % len(m) + m if i == 1 else b" {%d+}\r\n" % len(m) + m
    _, done = raw.cmd(cmd)
    _, uids = appenduid(done)
    assert uids == "1:3", done
    assert status(raw, "Multi") == 3 and status(raw, "Multi", "UNSEEN") == 2
    # the third message's flags are bad: none of the three goes in
    cmd = b"APPEND Multi"
    for i, m in enumerate(msgs):
        cmd += (b" (\\Nope)" if i == 2 else b"") + b" {%d+}\r\n" % len(m) + m
    _, done = raw.cmd(cmd)
    assert b"BAD" in done, done
    assert status(raw, "Multi") == 3
    # a bad trailer after the messages: the same
    _, done = raw.cmd(b"APPEND Multi {%d+}\r\n" % len(msgs[0]) + msgs[0] + b" junk")
    assert b"BAD" in done, done
    assert status(raw, "Multi") == 3
    # a malformed rest of the command (the parser's error): the same
    _, done = raw.cmd(b"APPEND Multi {%d+}\r\n" % len(msgs[0]) + msgs[0] + b" (\\Seen")
    assert b"BAD" in done, done
    assert status(raw, "Multi") == 3
    assert th.wait_for(lambda: not tmp_files(imap)), tmp_files(imap)


def test_bare_lf_stored_as_crlf(imap, raw):
    lf = th.make_message(20, subject="bare LF")
    assert b"\r" not in lf
    _, done = raw.cmd(b"APPEND INBOX {%d+}\r\n" % len(lf) + lf)
    assert b"OK" in done, done
    stored = [m for m in pop_inbox(imap) if b"Subject: bare LF" in m]
    assert stored == [th.crlf(lf)]


def test_append_30mb_read_back_by_pop3(imap):
    big = th.crlf(th.big_message(30, 30 * 1024 * 1024))
    m = th.imap_ssl(imap.imaps_port)
    typ, data = m.append("INBOX", None, None, big)
    assert typ == "OK" and b"APPENDUID" in data[0], data
    uid = re.search(rb"APPENDUID \d+ (\d+)", data[0]).group(1).decode()
    m.select("INBOX")
    typ, data = m.uid("FETCH", uid, "(RFC822.SIZE BODY.PEEK[]<1000000.64>)")
    assert typ == "OK" and (b"RFC822.SIZE %d" % len(big)) in data[0][0], data[0][0]
    assert data[0][1] == big[1000000:1000064]
    typ, data = m.uid("FETCH", uid, "(BODY.PEEK[])")
    assert typ == "OK" and data[0][1] == big
    m.logout()
    stored = [x for x in pop_inbox(imap) if b"Subject: Big message 30" in x]
    assert len(stored) == 1 and stored[0] == big


def test_literal_over_the_limit_refused(raw):
    raw.send(b"a APPEND INBOX {%d}\r\n" % (SIZE_LIMIT + 1))
    _, done = raw.read_until("a")
    assert done.startswith(b"a NO [TOOBIG]"), done
    raw.ok("NOOP")


def test_disconnect_in_the_middle_of_a_literal(imap, raw):
    raw.ok("CREATE Cut")
    r = th.RawIMAP(imap.imaps_port, tls=True)
    r.login()
    big = th.crlf(th.big_message(40, 2 * 1024 * 1024))
    r.send(b"a APPEND Cut {%d}\r\n" % len(big))
    assert r.readline().startswith(b"+ ")
    r.send(big[:len(big) // 2])
    time.sleep(0.2)
    r.close()
    assert th.wait_for(lambda: not tmp_files(imap)), tmp_files(imap)
    assert status(raw, "Cut") == 0


def test_append_while_selected_into_other_mailbox(raw):
    raw.ok("CREATE Other")
    raw.ok("SELECT INBOX")
    msg = th.crlf(th.make_message(50))
    _, done = raw.cmd(b"APPEND Other {%d+}\r\n" % len(msg) + msg)
    assert b"OK [APPENDUID" in done, done
    raw.ok("CLOSE")


# a test dependency (scripts/deps.sh test): its absence fails
CURL = shutil.which("curl") or "curl"


@pytest.mark.parametrize("scheme", ["imap", "imaps"])
def test_curl_upload(imap, raw, scheme, tmp_path):
    port = imap.imap_port if scheme == "imap" else imap.imaps_port
    box = "Curl" + scheme
    raw.ok("CREATE %s" % box)
    path = tmp_path / "msg.eml"
    path.write_bytes(th.make_message(60, subject="via curl"))
    args = [CURL, "-sS", "--insecure", "--max-time", str(int(th.TIMEOUT)),
            "--user", "%s:%s" % (th.USER, th.PASSWORD), "-T", str(path),
            "%s://127.0.0.1:%d/%s" % (scheme, port, box)]
    if scheme == "imap":
        args.insert(1, "--ssl-reqd")
    p = subprocess.run(args, capture_output=True, text=True, timeout=th.TIMEOUT * 2)
    assert p.returncode == 0, p.stderr
    assert status(raw, box) == 1


QUOTA_USER = "quota@localhost"


def test_append_over_the_users_quota_refused():
    # SMTP refuses RCPT to a full account (452 4.2.2) and delivery defers;
    # APPEND stored mail past the quota. Now: NO [OVERQUOTA], before the
    # "+ " of a synchronizing literal.
    t = th.Tern({"auth.allow_plaintext_loopback": "yes"})
    try:
        t.enable_imap()
        t.setup_accounts()
        t.cmd("user", "add", QUOTA_USER, "--quota", "64k", input=th.PASSWORD + "\n")
        t.start()
        r = th.RawIMAP(t.imap_port)
        r.login(QUOTA_USER)
        small = th.crlf(th.big_message(1, 40 * 1024))
        _, done = r.cmd(b"APPEND INBOX {%d+}\r\n" % len(small) + small)
        assert b" OK [APPENDUID " in done, done
        big = th.crlf(th.big_message(2, 40 * 1024))
        r.send(b"a APPEND INBOX {%d}\r\n" % len(big))
        _, done = r.read_until("a")
        assert done.startswith(b"a NO [OVERQUOTA]"), done
        # a non-synchronizing literal is read and refused
        _, done = r.cmd(b"APPEND INBOX {%d+}\r\n" % len(big) + big)
        assert b" NO [OVERQUOTA]" in done, done
        assert r.ok("STATUS INBOX (MESSAGES)")[0].endswith(b"(MESSAGES 1)")
        r.close()
    finally:
        assert not t.cleanup()


def sync_append(r, msg):
    """APPEND with a synchronizing literal: the tagged reply, which comes
    before the "+ " when the server refuses the message up front."""
    tag = r.next_tag()
    r.send(b"%s APPEND INBOX {%d}\r\n" % (tag.encode(), len(msg)))
    line = r.readline()
    if line.startswith(b"+ "):
        r.send(msg + b"\r\n")
        _, line = r.read_until(tag)
    return line


@pytest.mark.skipif(not th.AS_ROOT, reason="mounts a small tmpfs")
def test_append_below_min_free_space_refused():
    # SMTP refuses MAIL when the data folder's free space is below [limits]
    # min_free_space; APPEND filled the disk to the last byte.
    import pwd
    t = th.Tern({"auth.allow_plaintext_loopback": "yes", "limits.min_free_space": "8m"})
    nobody = pwd.getpwnam("nobody")
    os.mkdir(t.data_dir)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=32m,uid=%d,gid=%d,mode=0700" %
                    (nobody.pw_uid, nobody.pw_gid), "tmpfs", t.data_dir], check=True)
    try:
        t.enable_imap()
        t.setup_accounts()
        t.start()
        r = th.RawIMAP(t.imap_port)
        r.login()
        msg = th.crlf(th.make_message(1))
        _, done = r.cmd(b"APPEND INBOX {%d+}\r\n" % len(msg) + msg)
        assert b" OK [APPENDUID " in done, done
        with open(os.path.join(t.data_dir, "filler"), "wb") as f:
            f.write(b"x" * (22 * 1024 * 1024))
        # the floor is looked at at most once a second: until then the
        # server still asks for the literal
        assert th.wait_for(lambda: b" NO [OVERQUOTA]" in sync_append(r, msg))
        os.unlink(os.path.join(t.data_dir, "filler"))
        # the floor is looked at again (at most once a second)
        assert th.wait_for(lambda: b" OK [APPENDUID " in r.cmd(
            b"APPEND INBOX {%d+}\r\n" % len(msg) + msg)[1])
        r.close()
    finally:
        for srv in t.servers:
            srv.stop_quietly()
        subprocess.run(["umount", t.data_dir], check=False)
        assert not t.cleanup()


def test_binary_fetch_of_qp_with_bare_lfs(raw):
    # A literal8 is stored as sent, bare LFs included; quoted-printable
    # decodes a bare LF to CRLF, twice the input, and FETCH BINARY's
    # decoding buffer (MAIL_DECODE_OUT_MAX) had room for the input plus
    # 80 bytes: a heap overflow in the server (found by fuzz-mail-decode).
    raw.ok("CREATE BareLF")
    msg = (b"Subject: bare LFs\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n"
           b"Content-Transfer-Encoding: quoted-printable\r\n\r\n" + b"\n" * 200000)
    _, done = raw.cmd(b"APPEND BareLF ~{%d+}\r\n" % len(msg) + msg)
    assert b" OK [APPENDUID " in done, done
    raw.ok("SELECT BareLF")
    assert raw.ok("FETCH 1 (BINARY.SIZE[1])") == [b"* 1 FETCH (BINARY.SIZE[1] 400000)"]
    untagged = raw.ok("FETCH 1 (BINARY[1]<0.6>)")
    assert untagged[0].endswith(b"{6}\r\n\r\n\r\n\r\n)"), untagged
    raw.ok("UNSELECT")
