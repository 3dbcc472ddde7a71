# test_imap_clients - real IMAP clients against one tern: mbsync (Debian's
# isync) keeping a local Maildir in two-way sync over IMAPS and over
# STARTTLS (new mail, flags and deletions on either side, folders created
# on either side, a second run that changes nothing), curl's FETCH by UID
# over imap:// with --ssl-reqd (imaps:// and LIST and APPEND are in
# test_imap_fetch/mailboxes/append), mutt flagging, copying and deleting
# (reading is in test_imap_fetch), fetchmail over IMAP, the client quirks no other file covers
# (Apple Mail's pipelining of commands that run jobs, Thunderbird's "no
# STATUS unless asked", eM Client's bare-LF APPEND against every size and
# section), and Python's imaplib driving the whole command set once in
# one flow, as a rev1 and as a rev2 client.
import imaplib
import os
import re
import shutil
import smtplib
import subprocess
import tempfile

import pytest

import tern_harness as th

MBSYNC = shutil.which("mbsync")
CURL = shutil.which("curl")


def mbsync_tls_key():
    """isync 1.5 renamed SSLType to TLSType (the old name warns)."""
    out = subprocess.run([MBSYNC, "--version"], capture_output=True, text=True).stdout
    version = tuple(int(x) for x in re.findall(r"\d+", out)[:2])
    return "TLSType" if version >= (1, 5) else "SSLType"


SYNC_USER = "sync@localhost"
SYNC_TLS_USER = "synctls@localhost"
SYNC_BULK_USER = "syncbulk@localhost"
SYNC_BIG_USER = "syncbig@localhost"
SMOKE_USERS = {"rev1": "smoke1@localhost", "rev2": "smoke2@localhost"}
QUIRK_USER = "quirk@localhost"
MUTT_USER = "mutt@localhost"
FETCHMAIL_USERS = {False: "fetch1@localhost", True: "fetch2@localhost"}

# Maildir info letters (maildir's "2," flags) and the IMAP flags mbsync
# maps them to; P (passed) has no IMAP flag and is not synced.
MAILDIR_FLAGS = {"D": "\\Draft", "F": "\\Flagged", "R": "\\Answered", "S": "\\Seen",
                 "T": "\\Deleted"}
# the commands a sync that finds nothing to do may send
READ_ONLY_COMMANDS = {"AUTHENTICATE", "LOGIN", "CAPABILITY", "LIST", "LSUB", "SELECT",
                      "EXAMINE", "UID FETCH", "FETCH", "CLOSE", "UNSELECT", "LOGOUT",
                      "NAMESPACE", "ENABLE", "ID", "NOOP", "STARTTLS"}


@pytest.fixture(scope="module")
def srv():
    users = (SYNC_USER, SYNC_TLS_USER, SYNC_BULK_USER, SYNC_BIG_USER, QUIRK_USER, MUTT_USER) + \
        tuple(SMOKE_USERS.values()) + tuple(FETCHMAIL_USERS.values())
    with th.imap_tern(smtp=True, users=users) as t:
        yield t


def message(n, subject=None, body=None):
    return ("From: Alice <alice@example.org>\r\nTo: sync@localhost\r\n"
            "Subject: %s\r\nMessage-ID: <m%s@example.org>\r\n\r\n%s\r\n"
            % (subject or "message %s" % n, n, body or "body of %s" % n)).encode()


def deliver(srv, rcpt, n):
    """A message by SMTP, waited for until the INBOX has it."""
    with smtplib.SMTP("127.0.0.1", srv.smtp_port, timeout=th.TIMEOUT) as s:
        s.sendmail("alice@example.org", [rcpt], message(n, subject="delivered %s" % n))
    m = th.imap_ssl(srv.imaps_port, user=rcpt)
    try:
        th.wait_for(lambda: msgid_uid(m, "INBOX", "<m%s@example.org>" % n) is not None)
    finally:
        m.logout()


def msgid_uid(m, box, msgid):
    m.select('"%s"' % box, readonly=True)
    typ, data = m.uid("SEARCH", "HEADER", "Message-ID", msgid)
    assert typ == "OK"
    uids = data[0].split()
    return int(uids[0]) if uids else None


# ------------------------------------------------------------ mbsync


def header_msgid(data):
    found = re.search(rb"^Message-ID:\s*(<[^>]*>)", data, re.M | re.I)
    return found.group(1).decode() if found else None


def server_state(port, user):
    """{mailbox: {Message-ID: (set of flags, body bytes)}} over IMAPS, and
    {mailbox: (UIDVALIDITY, [(UID, flags)])} for comparing two moments."""
    m = th.imap_ssl(port, user=user)
    content, exact = {}, {}
    typ, data = m.list()
    assert typ == "OK"
    for line in data:
        box = re.match(rb'\(.*?\) "/" "?(.*?)"?$', line).group(1).decode()
        typ, _ = m.select('"%s"' % box, readonly=True)
        assert typ == "OK", box
        uidvalidity = int(m.response("UIDVALIDITY")[1][0])
        content[box], uids = {}, []
        typ, data = m.uid("FETCH", "1:*", "(FLAGS BODY.PEEK[])")
        assert typ == "OK"
        for item in data:
            if not isinstance(item, tuple):
                continue
            meta = item[0]
            uid = int(re.search(rb"UID (\d+)", meta).group(1))
            flags = set(f.decode() for f in imaplib.ParseFlags(meta)) - {"\\Recent"}
            content[box][header_msgid(item[1])] = (flags, item[1])
            uids.append((uid, tuple(sorted(flags))))
        exact[box] = (uidvalidity, uids)
    m.logout()
    return content, exact


def maildir_flags(name):
    return set(MAILDIR_FLAGS[c] for c in name.partition(":2,")[2] if c in MAILDIR_FLAGS)


def local_folders(root):
    """{mailbox name: its Maildir folder} under the mbsync's Path."""
    out = {}
    for dirpath, dirnames, _ in os.walk(root):
        if "cur" in dirnames:
            out[os.path.relpath(dirpath, root).replace(os.sep, "/")] = dirpath
    return out


def local_state(root):
    """As server_state's first value, from the Maildir, and every message
    file (path: bytes) for comparing two moments."""
    content, files = {}, {}
    for box, path in local_folders(root).items():
        content[box] = {}
        for sub in ("new", "cur"):
            for name in os.listdir(os.path.join(path, sub)):
                with open(os.path.join(path, sub, name), "rb") as f:
                    data = f.read()
                files[os.path.join(box, sub, name)] = data
                content[box][header_msgid(data)] = (maildir_flags(name), data)
    return content, files


def as_sent(data):
    """A message with CRLF line ends and without the X-TUID field mbsync
    adds to every message it copies (its mark for finding a copy again
    after a crash), for comparing the two sides."""
    data = re.sub(rb"^X-TUID: [^\n]*\n", b"", data, count=1, flags=re.M)
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


class Mbsync:
    """One local Maildir kept in sync with one account by mbsync -a (a
    channel of every folder: Create Both, Expunge Both, SyncState *, and
    CopyArrivalDate: INTERNALDATE is the file's time and back)."""

    def __init__(self, srv, user, starttls=False, auth=None):
        self.srv, self.user = srv, user
        # in the server's work folder: removed with it, also after a failure
        self.work = tempfile.mkdtemp(prefix="tern-mbsync-", dir=srv.work_dir)
        self.root = os.path.join(self.work, "mail")
        os.mkdir(self.root)
        self.rc = os.path.join(self.work, "mbsyncrc")
        with open(self.rc, "w") as f:
            f.write("IMAPAccount tern\nHost 127.0.0.1\nPort %d\nUser %s\nPass %s\n"
                    "%s %s\nCertificateFile %s\n%s\n"
                    % (srv.imap_port if starttls else srv.imaps_port, user, th.PASSWORD,
                       mbsync_tls_key(),
                       "STARTTLS" if starttls else "IMAPS",
                       os.path.join(srv.data_dir, "tls", "cert.pem"),
                       "AuthMechs %s\n" % auth if auth else ""))
            f.write("IMAPStore remote\nAccount tern\n\n")
            f.write("MaildirStore local\nPath %s/\nInbox %s/INBOX\nSubFolders Verbatim\n\n"
                    % (self.root, self.root))
            f.write("Channel all\nFar :remote:\nNear :local:\nPatterns *\nCreate Both\n"
                    "Expunge Both\nSyncState *\nCopyArrivalDate yes\n")

    def run(self):
        """mbsync -D -a; it must exit 0 without an error or a warning.
        Returns the commands it sent (tag stripped)."""
        p = subprocess.run([MBSYNC, "-c", self.rc, "-D", "-a"], capture_output=True,
                           env=dict(os.environ, HOME=self.work), timeout=th.TIMEOUT * 4)
        out = p.stdout.decode(errors="replace") + p.stderr.decode(errors="replace")
        assert p.returncode == 0, out[-4000:]
        trouble = [line for line in out.splitlines()
                   if re.match(r"(Error|Warning|IMAP error|Maildir error)", line, re.I)
                   or " BAD " in line or re.match(r"F: \d+ NO ", line)]
        assert not trouble, trouble
        # (a debug line may follow a progress line's text without a break)
        return re.findall(r"F: >>> \d+ ([^\r\n]*)", out)

    def in_sync(self):
        """Both sides hold the same messages with the same flags and
        the same text (as_sent)."""
        far, _ = server_state(self.srv.imaps_port, self.user)
        near, _ = local_state(self.root)
        assert sorted(far) == sorted(near)
        for box in far:
            assert sorted(far[box]) == sorted(near[box]), box
            for msgid, (flags, data) in far[box].items():
                assert near[box][msgid][0] == flags, (box, msgid)
                assert as_sent(near[box][msgid][1]) == as_sent(data), (box, msgid)
        return far

    def noop_run(self):
        """A second run finds nothing to do: it sends nothing that
        changes the server, and neither side changes."""
        _, before_far = server_state(self.srv.imaps_port, self.user)
        _, before_near = local_state(self.root)
        sent = self.run()
        changing = [c for c in sent if not any(c.startswith(k) for k in READ_ONLY_COMMANDS)]
        assert not changing, changing
        assert server_state(self.srv.imaps_port, self.user)[1] == before_far
        assert local_state(self.root)[1] == before_near
        return sent

    def path(self, box):
        return local_folders(self.root)[box]

    def files(self, box):
        """{Message-ID: the file's path} of a local folder."""
        out = {}
        for sub in ("new", "cur"):
            d = os.path.join(self.path(box), sub)
            for name in os.listdir(d):
                with open(os.path.join(d, name), "rb") as f:
                    out[header_msgid(f.read())] = os.path.join(d, name)
        return out

    def set_flags(self, box, msgid, letters):
        """Give a local message the Maildir flags `letters` (into cur/)."""
        old = self.files(box)[msgid]
        base = os.path.basename(old).partition(":2,")[0]
        os.rename(old, os.path.join(self.path(box), "cur", base + ":2," + letters))

    def drop(self, box, msgid):
        os.unlink(self.files(box)[msgid])

    def add(self, box, n):
        """A new message in the local folder's new/ (made as a Maildir
        writer does: in tmp/, then renamed)."""
        name = "1700000000.tern%s.laptop" % n
        tmp = os.path.join(self.path(box), "tmp", name)
        with open(tmp, "wb") as f:
            f.write(message(n, subject="local %s" % n).replace(b"\r\n", b"\n"))
        os.rename(tmp, os.path.join(self.path(box), "new", name))

    def mkdir(self, box):
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(self.root, box, sub))

    def cleanup(self):
        shutil.rmtree(self.work, ignore_errors=True)


@pytest.fixture(scope="module")
def mbsync(srv):
    """mbsync over IMAPS for SYNC_USER, whose INBOX has two messages and
    Work and Work/Sub one each before the first run. The tests that use
    it are one flow in file order, each starting from the last one's
    synced state."""
    m = th.imap_ssl(srv.imaps_port, user=SYNC_USER)
    m.append("INBOX", None, '"05-Mar-2024 07:08:09 +0100"', message("in1"))
    m.append("INBOX", "(\\Seen)", None, message("in2"))
    for box, n in (("Work", "w1"), ("Work/Sub", "s1")):
        assert m.create(box)[0] == "OK"
        m.append(box, "(\\Flagged)", None, message(n))
    m.logout()
    sync = Mbsync(srv, SYNC_USER)
    yield sync
    sync.cleanup()


needs_mbsync = pytest.mark.skipif(MBSYNC is None, reason="mbsync (isync) is a test dependency")


@needs_mbsync
def test_mbsync_initial_pull_then_nothing(mbsync):
    sent = mbsync.run()
    # the login's OK told it UIDPLUS: no X-TUID search, no CAPABILITY round
    assert not any(c.startswith("CAPABILITY") for c in sent), sent
    far = mbsync.in_sync()
    # every default folder, and the hierarchy as folders in folders
    assert {"INBOX", "Work", "Work/Sub", "Sent", "Drafts", "Trash", "Junk", "Archive"} \
        <= set(far)
    assert set(far["INBOX"]) == {"<min1@example.org>", "<min2@example.org>"}
    assert far["INBOX"]["<min2@example.org>"][0] == {"\\Seen"}
    assert far["Work/Sub"]["<ms1@example.org>"][0] == {"\\Flagged"}
    assert os.path.isdir(os.path.join(mbsync.root, "Work", "Sub", "cur"))
    # the arrival date came as the file's time
    assert os.stat(mbsync.files("INBOX")["<min1@example.org>"]).st_mtime == 1709618889
    mbsync.noop_run()


@needs_mbsync
def test_mbsync_server_changes_pulled(srv, mbsync):
    deliver(srv, SYNC_USER, "smtp1")
    m = th.imap_ssl(srv.imaps_port, user=SYNC_USER)
    m.append("Work", None, None, message("w2"))
    m.select("INBOX")
    uid1 = msgid_uid(m, "INBOX", "<min1@example.org>")
    uid2 = msgid_uid(m, "INBOX", "<min2@example.org>")
    m.select("INBOX")
    assert m.uid("STORE", str(uid1), "+FLAGS", "(\\Seen \\Flagged)")[0] == "OK"
    assert m.uid("STORE", str(uid2), "+FLAGS", "(\\Deleted)")[0] == "OK"
    assert m.expunge()[0] == "OK"
    m.select('"Work/Sub"')
    assert m.store("1", "-FLAGS", "(\\Flagged)")[0] == "OK"
    m.logout()
    mbsync.run()
    far = mbsync.in_sync()
    assert set(far["INBOX"]) == {"<min1@example.org>", "<msmtp1@example.org>"}
    assert far["INBOX"]["<min1@example.org>"][0] == {"\\Seen", "\\Flagged"}
    assert "<mw2@example.org>" in far["Work"]
    assert far["Work/Sub"]["<ms1@example.org>"][0] == set()
    mbsync.noop_run()


@needs_mbsync
def test_mbsync_local_changes_pushed(mbsync):
    mbsync.add("INBOX", "l1")
    os.utime(mbsync.files("INBOX")["<ml1@example.org>"], (1600000000, 1600000000))
    mbsync.add("Work/Sub", "l2")
    mbsync.set_flags("INBOX", "<msmtp1@example.org>", "S")
    mbsync.set_flags("Work", "<mw1@example.org>", "")
    mbsync.set_flags("Work", "<mw2@example.org>", "FS")
    mbsync.drop("INBOX", "<min1@example.org>")
    sent = mbsync.run()
    assert any(c.startswith("APPEND") for c in sent), sent
    far = mbsync.in_sync()
    assert set(far["INBOX"]) == {"<ml1@example.org>", "<msmtp1@example.org>"}
    assert far["INBOX"]["<msmtp1@example.org>"][0] == {"\\Seen"}
    assert far["Work"]["<mw1@example.org>"][0] == set()
    assert far["Work"]["<mw2@example.org>"][0] == {"\\Flagged", "\\Seen"}
    assert "<ml2@example.org>" in far["Work/Sub"]
    # APPEND with the file's time as the internal date
    m = th.imap_ssl(mbsync.srv.imaps_port, user=SYNC_USER)
    typ, data = m.uid("FETCH", str(msgid_uid(m, "INBOX", "<ml1@example.org>")), "(INTERNALDATE)")
    assert b'INTERNALDATE "13-Sep-2020 12:26:40 +0000"' in data[0], data
    m.logout()
    # the uploads' UIDs came by UIDPLUS's APPENDUID, not by a search
    assert not any("X-TUID" in c for c in sent), sent
    mbsync.noop_run()


@needs_mbsync
def test_mbsync_folders_created_both_ways(srv, mbsync):
    mbsync.mkdir("Laptop")
    mbsync.add("Laptop", "lap1")
    m = th.imap_ssl(srv.imaps_port, user=SYNC_USER)
    assert m.create("Server/Child")[0] == "OK"
    m.append("Server/Child", "(\\Answered)", None, message("srv1"))
    m.logout()
    mbsync.run()
    far = mbsync.in_sync()
    assert set(far["Laptop"]) == {"<mlap1@example.org>"}
    assert far["Server/Child"]["<msrv1@example.org>"][0] == {"\\Answered"}
    assert os.path.isdir(os.path.join(mbsync.root, "Server", "Child", "new"))
    mbsync.noop_run()


@needs_mbsync
def test_mbsync_both_sides_at_once(srv, mbsync):
    """Changes on both sides between two runs, to different messages
    and to the same one (flags are merged, as mbsync does)."""
    mbsync.add("Work", "both1")
    mbsync.set_flags("Work/Sub", "<ml2@example.org>", "F")
    # trashed in the Maildir (T): \Deleted on the server, then expunged
    # on both sides (Expunge Both)
    mbsync.set_flags("Work", "<mw1@example.org>", "ST")
    m = th.imap_ssl(srv.imaps_port, user=SYNC_USER)
    m.append("Work", "(\\Seen)", None, message("both2"))
    m.select('"Work/Sub"')
    uid = msgid_uid(m, "Work/Sub", "<ml2@example.org>")
    m.select('"Work/Sub"')
    assert m.uid("STORE", str(uid), "+FLAGS", "(\\Seen)")[0] == "OK"
    uid = msgid_uid(m, "Work/Sub", "<ms1@example.org>")
    m.select('"Work/Sub"')
    assert m.uid("STORE", str(uid), "+FLAGS", "(\\Deleted)")[0] == "OK"
    assert m.expunge()[0] == "OK"
    m.logout()
    mbsync.run()
    far = mbsync.in_sync()
    assert {"<mboth1@example.org>", "<mboth2@example.org>"} <= set(far["Work"])
    assert "<mw1@example.org>" not in far["Work"]
    assert far["Work/Sub"]["<ml2@example.org>"][0] == {"\\Flagged", "\\Seen"}
    assert "<ms1@example.org>" not in far["Work/Sub"]
    mbsync.noop_run()


@needs_mbsync
def test_mbsync_over_starttls(srv):
    """STARTTLS, the LOGIN command rather than SASL, and a folder name
    beyond ASCII: isync 1.4 leaves names as the server sends them, so it
    is modified UTF-7 in the Maildir too, and goes back unchanged."""
    m = th.imap_ssl(srv.imaps_port, user=SYNC_TLS_USER)
    m.append("INBOX", None, None, message("t1"))
    assert m.create("Lists/tern")[0] == "OK"
    m.append("Lists/tern", "(\\Seen)", None, message("t2"))
    assert m.create("Caf&AOk-")[0] == "OK"
    m.append("Caf&AOk-", None, None, message("t4"))
    m.logout()
    sync = Mbsync(srv, SYNC_TLS_USER, starttls=True, auth="LOGIN")
    try:
        sent = sync.run()
        assert sent[0] == "STARTTLS" and sent[2].startswith("LOGIN "), sent
        far = sync.in_sync()
        assert set(far["Lists/tern"]) == {"<mt2@example.org>"}
        assert set(far["Caf&AOk-"]) == {"<mt4@example.org>"}
        assert os.path.isdir(os.path.join(sync.root, "Caf&AOk-", "cur"))
        sync.noop_run()
        sync.set_flags("INBOX", "<mt1@example.org>", "FS")
        sync.add("Lists/tern", "t3")
        sync.drop("Lists/tern", "<mt2@example.org>")
        sync.set_flags("Caf&AOk-", "<mt4@example.org>", "RS")
        sync.run()
        far = sync.in_sync()
        assert far["INBOX"]["<mt1@example.org>"][0] == {"\\Flagged", "\\Seen"}
        assert set(far["Lists/tern"]) == {"<mt3@example.org>"}
        assert far["Caf&AOk-"]["<mt4@example.org>"][0] == {"\\Answered", "\\Seen"}
        sync.noop_run()
    finally:
        sync.cleanup()


@needs_mbsync
def test_mbsync_many_messages_pipelined(srv):
    """Hundreds of changes in one run: mbsync pipelines its STOREs and
    APPENDs (no PipelineDepth limit), and every answer must match its
    command."""
    r = th.RawIMAP(srv.imaps_port, tls=True)
    r.login(SYNC_BULK_USER)
    r.ok("CREATE Bulk")
    # pipelined with LITERAL+ (imaplib's synchronizing literal and its
    # CRLF in a second small write wait out the delayed ACK each time)
    tags = ["b%d" % n for n in range(300)]
    r.send(b"".join(b"%s APPEND Bulk {%d+}\r\n%s\r\n"
                    % (tag.encode(), len(message("bulk%d" % n)), message("bulk%d" % n))
                    for n, tag in enumerate(tags)))
    done, _ = tagged_in_order(r, tags)
    assert all(b" OK [APPENDUID " in line for line in done.values())
    r.close()
    sync = Mbsync(srv, SYNC_BULK_USER)
    try:
        sync.run()
        assert len(sync.in_sync()["Bulk"]) == 300
        for n in range(0, 300, 2):
            sync.set_flags("Bulk", "<mbulk%d@example.org>" % n, "S")
        for n in range(1, 100, 2):
            sync.drop("Bulk", "<mbulk%d@example.org>" % n)
        for n in range(40):
            sync.add("Bulk", "new%d" % n)
        m = th.imap_ssl(srv.imaps_port, user=SYNC_BULK_USER)
        m.select("Bulk")
        assert m.uid("STORE", "201:260", "+FLAGS.SILENT", "(\\Flagged)")[0] == "OK"
        assert m.uid("STORE", "281:300", "+FLAGS.SILENT", "(\\Deleted)")[0] == "OK"
        assert m.expunge()[0] == "OK"
        m.logout()
        sent = sync.run()
        assert len([c for c in sent if c.startswith("UID STORE")]) >= 2, sent
        far = sync.in_sync()["Bulk"]
        assert len(far) == 300 - 50 - 20 + 40
        assert far["<mbulk200@example.org>"][0] == {"\\Seen", "\\Flagged"}
        assert far["<mbulk201@example.org>"][0] == {"\\Flagged"}
        sync.noop_run()
    finally:
        sync.cleanup()


@needs_mbsync
def test_mbsync_large_and_8bit_messages(srv):
    """A 6 MB message each way, the local one 8-bit UTF-8 text with bare
    LF line ends: both arrive whole (the server's copy with CRLF, and
    the X-TUID field mbsync adds)."""
    m = th.imap_ssl(srv.imaps_port, user=SYNC_BIG_USER)
    assert m.append("INBOX", None, None, th.big_message(1, 6 * 1024 * 1024))[0] == "OK"
    m.logout()
    sync = Mbsync(srv, SYNC_BIG_USER)
    try:
        sync.run()
        sync.in_sync()
        name = "1700000001.big.laptop"
        data = ("From: a@example.org\nSubject: gro\u00dfe Datei\nMessage-ID: <biglocal@x>\n"
                "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"
                + ("caf\u00e9 cr\u00e8me " * 8 + "\n") * 60000).encode()
        assert len(data) > 6 * 1024 * 1024
        with open(os.path.join(sync.path("INBOX"), "new", name), "wb") as f:
            f.write(data)
        sync.run()
        far = sync.in_sync()
        assert as_sent(far["INBOX"]["<biglocal@x>"][1]) == data.replace(b"\n", b"\r\n")
        sync.noop_run()
    finally:
        sync.cleanup()


# ------------------------------------------------------------ mutt


@pytest.mark.skipif(shutil.which("mutt") is None, reason="mutt is a test dependency")
def test_mutt_reads_flags_copies_and_deletes(srv):
    """mutt in batch mode on the INBOX over imaps: reads message 1 (it
    becomes \\Seen) and flags it, copies message 2 into another folder,
    deletes message 3 and syncs (EXPUNGE), and quits. (Piping a message
    out is test_imap_fetch's.)"""
    user = MUTT_USER
    m = th.imap_ssl(srv.imaps_port, user=user)
    for n in range(3):
        m.append("INBOX", None, None, message("mutt%d" % n))
    assert m.create("Saved")[0] == "OK"
    work = tempfile.mkdtemp(prefix="tern-mutt-")
    try:
        # the cursor where the keys expect it: mailbox order from the
        # first, no moving on after an action
        rc = th.mutt_batch(srv, work, "<first-entry><display-message><exit><flag-message>"
                           "<next-entry><copy-message>=Saved<enter><next-entry>"
                           "<delete-message><sync-mailbox><quit>", user=user,
                           settings="set sort=mailbox-order resolve=no\n")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    assert rc == 0
    state, _ = server_state(srv.imaps_port, user)
    assert {k: v[0] for k, v in state["INBOX"].items()} == {
        "<mmutt0@example.org>": {"\\Seen", "\\Flagged"}, "<mmutt1@example.org>": set()}
    assert list(state["Saved"]) == ["<mmutt1@example.org>"]
    assert state["Saved"]["<mmutt1@example.org>"][1] == message("mutt1")
    m.logout()


# ------------------------------------------------------------ fetchmail


@pytest.mark.skipif(shutil.which("fetchmail") is None, reason="fetchmail is a test dependency")
@pytest.mark.parametrize("implicit_tls", [False, True], ids=["starttls", "imaps"])
def test_fetchmail_over_imap(srv, implicit_tls):
    """fetchmail (IMAP: SEARCH UNSEEN, RFC822.HEADER, BODY.PEEK[TEXT],
    STORE \\Seen \\Deleted, EXPUNGE) takes every message and leaves the
    INBOX empty; a second run finds nothing."""
    user = FETCHMAIL_USERS[implicit_tls]
    sent = [message("fm%d" % n, body="line\r\n.\r\n..dots %d" % n) for n in range(3)]
    m = th.imap_ssl(srv.imaps_port, user=user)
    for data in sent:
        assert m.append("INBOX", None, None, data)[0] == "OK"
    port = srv.imaps_port if implicit_tls else srv.imap_port
    p, got = th.fetchmail(srv, port, implicit_tls, protocol="IMAP", user=user)
    log = p.stdout.decode(errors="replace") + p.stderr.decode(errors="replace")
    assert p.returncode == 0, log
    # each whole, once, with LF line ends (and fetchmail's Received: on top)
    assert len(got) == 3, log
    for data in sent:
        assert sum(1 for g in got if data.replace(b"\r\n", b"\n") in g) == 1, (data, got)
    m.select("INBOX")
    assert m.search(None, "ALL")[1] == [b""]
    m.logout()
    p, got = th.fetchmail(srv, port, implicit_tls, protocol="IMAP", user=user)
    assert p.returncode == 1 and got == [], p.stdout + p.stderr   # PS_NOMAIL


# ------------------------------------------------------------ curl


@pytest.mark.skipif(CURL is None, reason="curl is a test dependency")
def test_curl_fetch_by_uid_over_starttls(srv):
    """curl imap:// with --ssl-reqd (STARTTLS, or no login at all):
    FETCH by UID, the whole message and a section."""
    m = th.imap_ssl(srv.imaps_port, user=QUIRK_USER)
    typ, data = m.append("INBOX", None, None, message("curl1", subject="for curl"))
    assert typ == "OK"
    uid = int(re.search(rb"APPENDUID \d+ (\d+)", data[0]).group(1))
    m.logout()
    base = ["curl", "-s", "-k", "--ssl-reqd", "--user", "%s:%s" % (QUIRK_USER, th.PASSWORD)]
    url = "imap://127.0.0.1:%d/INBOX" % srv.imap_port
    out = subprocess.run(base + [url + ";UID=%d" % uid], capture_output=True,
                         timeout=th.TIMEOUT)
    assert out.returncode == 0, out.stderr
    assert out.stdout == message("curl1", subject="for curl")
    out = subprocess.run(base + [url + "/;UID=%d/;SECTION=TEXT" % uid], capture_output=True,
                         timeout=th.TIMEOUT)
    assert out.returncode == 0, out.stderr
    assert out.stdout == b"body of curl1\r\n"
    # a UID that is not there: curl fails, the server said NO or nothing
    out = subprocess.run(base + [url + ";UID=%d" % (uid + 100)], capture_output=True,
                         timeout=th.TIMEOUT)
    assert out.returncode != 0 or out.stdout == b""


# ------------------------------------------------------------ quirks


def tagged_in_order(r, tags):
    """Read responses up to the last of `tags`: {tag: its tagged line},
    after checking they came in the order sent; the untagged lines too."""
    seen, untagged = {}, []
    order = []
    while len(order) < len(tags):
        line = r.response_line()
        if line.startswith((b"* ", b"+ ")):
            untagged.append(line)
            continue
        tag = line.split(b" ")[0].decode()
        order.append(tag)
        seen[tag] = line
    assert order == tags, order
    return seen, untagged


def test_pipelined_jobs_answered_in_order(srv):
    """Apple Mail sends a batch of commands in one write, some of which
    run as jobs (FETCH of bodies, SEARCH, STORE, APPEND, COPY, MOVE,
    EXPUNGE, STATUS, LIST); the tagged answers come in the order sent."""
    r = th.RawIMAP(srv.imaps_port, tls=True)
    r.login(QUIRK_USER)
    r.ok("CREATE Piped")
    body = message("pipe", subject="pipelined")
    for i in range(3):
        r.ok(b"APPEND INBOX {%d+}\r\n" % len(body) + body)
    commands = [
        b"SELECT INBOX",
        b"UID FETCH 1:* (FLAGS BODY.PEEK[] BODYSTRUCTURE)",
        b"UID SEARCH BODY pipe",
        b"STATUS Piped (MESSAGES UIDNEXT)",
        b"UID STORE 1:* +FLAGS (\\Flagged)",
        b"APPEND Piped {%d+}\r\n" % len(body) + body,
        b"FETCH 1 (BODY[])",
        b"UID COPY 1:* Piped",
        b"NOOP",
        b'LIST "" "*"',
        b"STORE 1 +FLAGS.SILENT (\\Deleted)",
        b"EXPUNGE",
        b"UID MOVE 1:* Piped",
        b"STATUS Piped (MESSAGES)",
        b"CLOSE",
    ]
    tags = ["q%d" % i for i in range(len(commands))]
    r.send(b"".join(t.encode() + b" " + c + b"\r\n" for t, c in zip(tags, commands)))
    done, untagged = tagged_in_order(r, tags)
    for tag, command in zip(tags, commands):
        assert done[tag].startswith(tag.encode() + b" OK"), (command, done[tag])
    # what they did: Piped has the APPEND, a copy of each, and the moved
    # (all but the expunged one)
    n = int(re.search(rb"^\* (\d+) EXISTS", b"\n".join(untagged), re.M).group(1))
    statuses = [line for line in untagged if line.startswith(b'* STATUS "Piped"')]
    assert statuses[-1].endswith(b"(MESSAGES %d)" % (1 + n + n - 1)), (n, statuses)
    r.close()


def test_no_status_unless_asked(srv):
    """Thunderbird treats an untagged STATUS it did not ask for as an
    answer to a STATUS of its own: none inside other commands' replies,
    also while other mailboxes change; exactly one for a STATUS, and one
    per mailbox for LIST RETURN (STATUS)."""
    a = th.RawIMAP(srv.imaps_port, tls=True)
    a.login(QUIRK_USER)
    a.ok("CREATE Quiet")
    b = th.imap_ssl(srv.imaps_port, user=QUIRK_USER)
    untagged = []
    untagged += a.ok("SELECT INBOX")
    for n in range(2):
        b.append("Quiet", None, None, message("quiet%d" % n))
        b.append("INBOX", None, None, message("loud%d" % n))
        untagged += a.ok("NOOP")
        untagged += a.ok("FETCH 1:* (FLAGS)")
        untagged += a.ok('LIST "" "*"')
        untagged += a.ok('LSUB "" "*"')
        untagged += a.ok("EXAMINE Quiet")
        untagged += a.ok("SELECT INBOX")
    a.send(b"i IDLE\r\n")
    assert a.readline().startswith(b"+ ")
    b.append("Quiet", None, None, message("quiet-idle"))
    b.append("INBOX", None, None, message("loud-idle"))
    line = a.response_line()
    untagged.append(line)
    assert line.endswith(b"EXISTS") or line.endswith(b"RECENT"), line
    a.send(b"DONE\r\n")
    more, done = a.read_until("i")
    assert done.startswith(b"i OK"), done
    untagged += more
    assert not [line for line in untagged if line.startswith(b"* STATUS")], untagged
    assert len([line for line in a.ok("STATUS Quiet (MESSAGES)")
                if line.startswith(b"* STATUS")]) == 1
    listed = a.ok('LIST "" "*" RETURN (STATUS (MESSAGES))')
    assert len([line for line in listed if line.startswith(b"* STATUS")]) == \
        len([line for line in listed if line.startswith(b"* LIST")])
    b.logout()
    a.close()


def test_bare_lf_append_sizes_and_sections_agree(srv):
    """eM Client APPENDs with bare LF line ends: the message is stored
    with CRLF, and everything the server says of it agrees with the
    stored text: RFC822.SIZE, STATUS SIZE, BODY[] and its sections, the
    sizes and line counts in BODYSTRUCTURE, partial ranges."""
    part = "line one\nline two\n"
    lf = ("From: em@example.org\nTo: quirk@localhost\nSubject: bare LF\n"
          "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"xx\"\n\n"
          "--xx\nContent-Type: text/plain\n\n%s--xx\n"
          "Content-Type: text/plain; name=\"b.txt\"\n"
          "Content-Disposition: attachment; filename=\"b.txt\"\n\n%s--xx--\n"
          % (part, part)).encode()
    stored = lf.replace(b"\n", b"\r\n")
    r = th.RawIMAP(srv.imaps_port, tls=True)
    r.login(QUIRK_USER)
    r.ok("CREATE Lf")
    # a synchronizing literal, as eM Client sends it
    r.send(b"a1 APPEND Lf {%d}\r\n" % len(lf))
    assert r.readline().startswith(b"+ ")
    r.send(lf + b"\r\n")
    _, done = r.read_until("a1")
    assert b"OK [APPENDUID" in done, done
    status = r.ok("STATUS Lf (SIZE)")
    assert status == [b'* STATUS "Lf" (SIZE %d)' % len(stored)], status
    r.ok("EXAMINE Lf")
    body = stored.split(b"\r\n\r\n", 1)[1]
    untagged = r.ok("FETCH 1 (RFC822.SIZE BODY.PEEK[] BODY.PEEK[1] BODY.PEEK[2.MIME] "
                    "BODY.PEEK[TEXT]<%d.20> BODYSTRUCTURE)" % (len(body) - 10))
    text = untagged[0]
    assert b"RFC822.SIZE %d " % len(stored) in text, text
    assert b"BODY[] {%d}\r\n" % len(stored) + stored in text
    crlf_part = part.replace("\n", "\r\n").encode()
    # the CRLF before a boundary belongs to the boundary (RFC 2046 5.1.1)
    assert b"BODY[1] {%d}\r\n" % (len(crlf_part) - 2) + crlf_part[:-2] in text
    assert (b'BODY[2.MIME] {%d}\r\nContent-Type: text/plain; name="b.txt"\r\n'
            % len(b'Content-Type: text/plain; name="b.txt"\r\n'
                  b'Content-Disposition: attachment; filename="b.txt"\r\n\r\n')) in text
    # a range that runs past the end: the last 10 bytes
    assert b"BODY[TEXT]<%d> {10}\r\n" % (len(body) - 10) + body[-10:] in text, text
    # each text part: its size in octets with CRLF, and its lines
    sizes = re.findall(rb'"TEXT" "PLAIN" \(.*?\) NIL NIL "7BIT" (\d+) (\d+)', text, re.I)
    assert sizes == [(b"%d" % (len(crlf_part) - 2), b"%d" % crlf_part[:-2].count(b"\n"))] * 2, \
        (sizes, text)
    r.close()


# ------------------------------------------------------------ imaplib


def expand(seqset):
    out = []
    for part in seqset.split(","):
        lo, _, hi = part.partition(":")
        out += range(int(lo), int(hi or lo) + 1)
    return out


def search(m, rev, *criteria, uid=False):
    """SEARCH's numbers, from * SEARCH (rev1) or * ESEARCH (rev2, where
    every SEARCH answers so, RFC 9051 7.3.4)."""
    typ, data = m.uid("SEARCH", *criteria) if uid else m.search(None, *criteria)
    assert typ == "OK", (criteria, data)
    if rev == "rev1":
        return [int(x) for x in data[0].split()]
    found = m.untagged_responses.pop("ESEARCH")
    assert len(found) == 1, found
    assert re.match(rb'\(TAG "[^"]+"\)( UID)?( |$)', found[0]), found
    assert (b" UID" in found[0]) == uid, found
    match = re.search(rb" ALL ([0-9:,]+)", found[0])
    return expand(match.group(1).decode()) if match else []


def idle_until(m, other, mailbox, data):
    """IDLE (imaplib 3.11 has no idle()): a message APPENDed by `other`
    wakes it with EXISTS; DONE ends it with OK."""
    tag = m._new_tag()
    m.send(tag + b" IDLE\r\n")
    assert m.readline() == b"+ idling\r\n"
    assert other.append(mailbox, None, None, data)[0] == "OK"
    line = m.readline()
    while not line.endswith(b" EXISTS\r\n"):
        assert line.startswith(b"* "), line
        line = m.readline()
    m.send(b"DONE\r\n")
    line = m.readline()
    while not line.startswith(tag + b" "):
        line = m.readline()
    assert line.startswith(tag + b" OK"), line


@pytest.mark.parametrize("rev", ["rev1", "rev2"])
def test_imaplib_whole_command_set(srv, rev):
    """Every command of issue 7's list once, in the order a client would
    use them, through Python's imaplib (STARTTLS, AUTHENTICATE PLAIN
    with its continuation); rev2 after ENABLE IMAP4rev2."""
    user = SMOKE_USERS[rev]
    m = imaplib.IMAP4("127.0.0.1", srv.imap_port, timeout=th.TIMEOUT)
    # not authenticated: CAPABILITY, NOOP, ID, STARTTLS, AUTHENTICATE
    assert "LOGINDISABLED" in m.capabilities and "STARTTLS" in m.capabilities
    assert m.noop()[0] == "OK"
    assert m.xatom("ID", '("name" "imaplib")')[0] == "OK"
    assert b'"name" "tern"' in m.response("ID")[1][0]
    assert m.starttls(ssl_context=th.tls_client_context())[0] == "OK"
    assert "AUTH=PLAIN" in m.capabilities
    typ, data = m.authenticate("PLAIN", lambda _: ("\0%s\0%s" % (user, th.PASSWORD)).encode())
    assert typ == "OK" and data[0].startswith(b"[CAPABILITY IMAP4rev1 IMAP4rev2 "), data
    caps = data[0].split(b"]")[0].split()[1:]
    for cap in (b"UIDPLUS", b"MOVE", b"IDLE", b"NAMESPACE", b"UNSELECT", b"SPECIAL-USE",
                b"LIST-EXTENDED", b"LIST-STATUS", b"ESEARCH", b"SEARCHRES", b"MULTIAPPEND",
                b"CHILDREN", b"ENABLE", b"LITERAL+", b"CREATE-SPECIAL-USE", b"BINARY"):
        assert cap in caps, (cap, caps)
    if rev == "rev2":
        assert m.enable("IMAP4rev2")[0] == "OK"
        assert m.response("ENABLED")[1] == [b"IMAP4rev2"]
    # authenticated: NAMESPACE, CREATE, LIST, (UN)SUBSCRIBE, LSUB, RENAME,
    # STATUS, APPEND
    typ, data = m.namespace()
    assert typ == "OK" and data[0] == b'(("" "/")) NIL NIL', data
    assert m.create("Smoke/Child/")[0] == "OK"          # the trailing "/" ignored
    typ, data = m.create("Smoke/Child")
    assert typ == "NO" and data[0].startswith(b"[ALREADYEXISTS]"), data
    typ, data = m.list('""', "Smoke*")
    assert data == [b'(\\HasChildren) "/" "Smoke"', b'(\\HasNoChildren) "/" "Smoke/Child"'], \
        data
    assert m.subscribe("Smoke/Child")[0] == "OK"
    if rev == "rev1":
        typ, data = m.lsub('""', "Smoke*")
        assert re.match(rb'\((\\HasNoChildren)?\) "/" "Smoke/Child"$', data[0]) and \
            len(data) == 1, data
    else:
        typ, data = m._simple_command("LIST", '(SUBSCRIBED)', '""', '"Smoke*"')
        assert typ == "OK"
        typ, data = m._untagged_response(typ, data, "LIST")
        assert data == [b'(\\Subscribed \\HasNoChildren) "/" "Smoke/Child"'], data
    assert m.unsubscribe("Smoke/Child")[0] == "OK"
    assert m.rename("Smoke/Child", "Smoke/Renamed")[0] == "OK"
    # a name beyond ASCII: modified UTF-7 in rev1, UTF-8 in rev2 (RFC
    # 9051 5.1), without UTF8=ACCEPT either way
    name = b"Entw&APw-rfe" if rev == "rev1" else '"Entwürfe"'.encode()
    assert m.create(name)[0] == "OK"
    typ, data = m.list('""', "Entw*")
    text = b"".join(x if isinstance(x, bytes) else b"".join(x) for x in data)
    if rev == "rev1":
        assert text == b'(\\HasNoChildren) "/" "Entw&APw-rfe"', data
    else:
        assert text == '(\\HasNoChildren) "/" "Entwürfe"'.encode(), data
    assert m.select(name)[0] == "OK" and m.close()[0] == "OK"
    assert m.delete(name)[0] == "OK"
    # SEARCH in a mailbox selected empty (fetchmail's second run)
    assert m.select("Smoke/Renamed")[1] == [b"0"]
    assert search(m, rev, "UNSEEN") == [] and search(m, rev, "ALL", uid=True) == []
    assert m.close()[0] == "OK"
    typ, data = m.append("Smoke/Renamed", "(\\Flagged $Work)",
                         imaplib.Time2Internaldate(1764583200),
                         message("smoke1", body="the first one"))
    assert typ == "OK" and re.match(rb"\[APPENDUID \d+ 1\]", data[0]), data
    m.append("Smoke/Renamed", None, None, message("smoke2", body="the second"))
    items = "(MESSAGES UIDNEXT UIDVALIDITY UNSEEN %s)" % (
        "RECENT" if rev == "rev1" else "DELETED SIZE")
    typ, data = m.status("Smoke/Renamed", items)
    assert typ == "OK" and b"MESSAGES 2 UIDNEXT 3" in data[0] and b"UNSEEN 2" in data[0], data
    # selected: EXAMINE, SELECT, FETCH, SEARCH, STORE, COPY, MOVE, CHECK,
    # EXPUNGE, UID EXPUNGE, IDLE, UNSELECT, CLOSE
    typ, data = m.select("Smoke/Renamed", readonly=True)
    assert typ == "OK" and data == [b"2"]
    assert m.store("1", "+FLAGS", "(\\Seen)")[0] == "NO"   # READ-ONLY
    typ, data = m.select("Smoke/Renamed")
    assert typ == "OK" and data == [b"2"]
    flags = m.response("FLAGS")[1][0].split(b"(")[1].split(b")")[0].split()
    assert b"\\Flagged" in flags and b"$Work" in flags, flags
    typ, data = m.fetch("1", "(UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODYSTRUCTURE "
                             "BODY.PEEK[HEADER.FIELDS (SUBJECT)] BINARY.SIZE[1] "
                             "BODY.PEEK[TEXT]<0.3>)")
    assert typ == "OK"
    text = b"".join(x if isinstance(x, bytes) else x[0] + x[1] for x in data)
    # rev1: the SELECT (not the EXAMINE before it) took \Recent
    assert text.startswith(b"1 (UID 1 FLAGS (\\Flagged %s$Work) "
                           % (b"\\Recent " if rev == "rev1" else b"")), text
    assert b'INTERNALDATE "01-Dec-2025 10:00:00 +0000"' in text
    assert b'"message smoke1"' in text and b'"TEXT" "PLAIN"' in text.upper()
    assert b"Subject: message smoke1" in text and b"the" in text
    typ, data = m.uid("FETCH", "2", "(RFC822.HEADER RFC822.TEXT BODY BINARY.PEEK[1])")
    assert typ == "OK" and b"the second\r\n" in data[0][1] + data[1][1] + data[2][1]
    typ, data = m.fetch("2", "(RFC822)")
    assert typ == "OK" and data[0][1] == message("smoke2", body="the second")
    typ, data = m.fetch("2", "(FLAGS)")
    assert b"\\Seen" in data[0]                           # RFC822 is not a peek
    assert search(m, rev, "ALL") == [1, 2]
    assert search(m, rev, "UNSEEN") == [1]
    assert search(m, rev, "KEYWORD", "$Work", uid=True) == [1]
    assert search(m, rev, "BODY", "second", uid=True) == [2]
    typ, data = m.store("1", "+FLAGS", "(\\Answered)")
    assert typ == "OK" and b"\\Answered" in data[0]
    typ, data = m.uid("STORE", "2", "-FLAGS.SILENT", "(\\Seen)")
    assert typ == "OK"
    typ, data = m.copy("1:2", "Smoke")
    assert typ == "OK" and re.match(rb"\[COPYUID \d+ 1:2 1:2\]", data[0]), data
    m.untagged_responses.pop("COPYUID", None)
    typ, _ = m.uid("COPY", "1", "INBOX")
    assert typ == "OK" and re.match(rb"\d+ 1 \d+$", m.response("COPYUID")[1][-1])
    assert m.check()[0] == "OK"
    m.untagged_responses.pop("COPYUID", None)
    typ, data = m.uid("MOVE", "2", "Smoke")
    assert typ == "OK"
    # RFC 6851 4.3: COPYUID in an untagged OK, then the EXPUNGE
    assert re.match(rb"\d+ 2 3$", m.response("COPYUID")[1][-1])
    assert m.response("EXPUNGE")[1] == [b"2"]
    typ, data = m.store("1", "+FLAGS.SILENT", "(\\Deleted)")
    assert typ == "OK"
    typ, data = m.expunge()
    assert typ == "OK" and data == [b"1"], data
    other = th.imap_ssl(srv.imaps_port, user=user)
    idle_until(m, other, "Smoke/Renamed", message("smoke3"))
    typ, data = m.uid("FETCH", "1:*", "(UID)")
    assert typ == "OK" and len(data) == 1, data
    uid3 = int(re.search(rb"UID (\d+)", data[0]).group(1))
    m.store("1", "+FLAGS.SILENT", "(\\Deleted)")
    assert m.uid("EXPUNGE", str(uid3))[0] == "OK"
    assert m.xatom("UNSELECT")[0] == "OK"
    assert m.select("Smoke")[1] == [b"3"]
    assert m.close()[0] == "OK"
    # authenticated again: DELETE (of a mailbox with children: kept as
    # \Noselect or refused with HASCHILDREN, RFC 9051 6.3.5), LOGOUT
    typ, data = m.delete("Smoke")
    assert typ == "OK" or data[0].startswith(b"[HASCHILDREN]"), data
    assert m.delete("Smoke/Renamed")[0] == "OK"
    if m.list('""', "Smoke*")[1] != [None]:
        assert m.delete("Smoke")[0] == "OK"
    assert m.list('""', "Smoke*")[1] == [None]
    other.logout()
    # LOGIN, over implicit TLS
    again = th.imap_ssl(srv.imaps_port, user=user)
    assert again.select("INBOX")[0] == "OK" and again.logout()[0] == "BYE"
    assert m.logout()[0] == "BYE"
