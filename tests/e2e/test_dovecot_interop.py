# Interoperability with real Dovecot: a Maildir that Dovecot's own delivery
# agent and doveadm wrote (with its dovecot-uidlist) imports into tern with
# its UIDVALIDITY, UIDs and flags, POP3 serves it byte for byte; and what
# `tern export maildir` writes, Dovecot reads back with the same UIDs and
# flags. Mailbox names with '.', '\', '&' or non-ASCII go both ways with
# the folder names Dovecot itself uses (its listescape plugin, separator
# '/'). This is the migration path users take from a Dovecot server.
import os
import poplib
import pwd
import re
import shutil
import subprocess

import pytest

import tern_harness as th

LDA = "/usr/lib/dovecot/dovecot-lda"
DOVEADM = shutil.which("doveadm") or "/usr/bin/doveadm"

pytestmark = pytest.mark.skipif(
    not (os.path.exists(LDA) and os.path.exists(DOVEADM)),
    reason="Dovecot's tools are not installed (scripts/deps.sh test installs dovecot-core)")


class Dovecot:
    """Dovecot's command-line tools on one Maildir, run as an unprivileged
    user (Dovecot refuses mail access as root)."""

    # names beyond Maildir++'s own rules: '/' between levels, the rest
    # escaped by the listescape plugin
    LISTESCAPE = ("mail_plugins = listescape\n"
                  "namespace inbox {\n  inbox = yes\n  separator = /\n}\n")

    def __init__(self, home, maildir, extra=""):
        self.home = home
        self.conf = os.path.join(home, "dovecot.conf")
        with open(self.conf, "w") as f:
            f.write("mail_location = maildir:%s\n"
                    "ssl = no\n"
                    "protocols =\n"
                    "log_path = %s/dovecot.log\n%s" % (maildir, home, extra))
        os.chmod(self.conf, 0o644)
        if th.AS_ROOT:
            nobody = pwd.getpwnam("nobody")
            for dirpath, _, files in os.walk(home):
                os.chown(dirpath, nobody.pw_uid, nobody.pw_gid)
                for name in files:
                    os.chown(os.path.join(dirpath, name), nobody.pw_uid, nobody.pw_gid)

    def run(self, *argv, input=None):
        env = ["env", "HOME=%s" % self.home, "USER=%s" % ("nobody" if th.AS_ROOT else
                                                          pwd.getpwuid(os.getuid()).pw_name)]
        prefix = ["runuser", "-u", "nobody", "--"] if th.AS_ROOT else []
        p = subprocess.run(prefix + env + list(argv), input=input, capture_output=True,
                           timeout=th.TIMEOUT * 2)
        assert p.returncode == 0, "%s: %s %s" % (argv, p.stdout, p.stderr)
        return p.stdout.decode()

    def lda(self, message):
        self.run(LDA, "-c", self.conf, "-f", "sender@example.org", input=message)

    def doveadm(self, *args):
        return self.run(DOVEADM, "-c", self.conf, *args)

    def fetch_uid_flags(self):
        """{(mailbox, uid): set of flags} for every message."""
        out = self.doveadm("-f", "flow", "fetch", "mailbox uid flags", "all")
        result = {}
        for line in out.splitlines():
            m = re.match(r"mailbox=(\S+) uid=(\d+) flags=(.*)$", line.strip())
            assert m, line
            flags = set(m.group(3).split()) - {"\\Recent"}
            result[(m.group(1), int(m.group(2)))] = flags
        return result

    def uidvalidity(self, mailbox):
        out = self.doveadm("-f", "flow", "mailbox", "status", "uidvalidity", mailbox)
        return int(re.search(r"uidvalidity=(\d+)", out).group(1))


def message(i):
    return (b"From: Sender <sender@example.org>\n"
            b"To: demo@localhost\n"
            b"Subject: dovecot message %d\n"
            b"Message-ID: <dovecot-%d@example.org>\n"
            b"\n"
            b"body of message %d\n"
            b".a line starting with a dot\n"
            b"last line\n" % (i, i, i))


def dovecot_home(tern, name):
    home = os.path.join(tern.work_dir, name)
    os.makedirs(home)
    os.chmod(home, 0o755)
    return home


def test_dovecot_maildir_imports_and_exports_with_uids_and_flags(tern_env):
    tern = tern_env
    home = dovecot_home(tern, "dovecot-home")
    maildir = os.path.join(home, "Maildir")
    dc = Dovecot(home, maildir)

    # Dovecot delivers four messages, then a user files one away, reads one
    # and deletes one: UIDs 1-4 in INBOX, 2 moved to Archive (as its UID 1).
    for i in range(1, 5):
        dc.lda(message(i))
    dc.doveadm("mailbox", "create", "Archive")
    dc.doveadm("move", "Archive", "mailbox", "INBOX", "uid", "2")
    dc.doveadm("flags", "add", "\\Seen \\Flagged", "mailbox", "INBOX", "uid", "3")
    dc.doveadm("expunge", "mailbox", "INBOX", "uid", "1")
    before = dc.fetch_uid_flags()
    assert before == {("Archive", 1): set(), ("INBOX", 3): {"\\Seen", "\\Flagged"},
                      ("INBOX", 4): set()}
    inbox_validity = dc.uidvalidity("INBOX")
    archive_validity = dc.uidvalidity("Archive")

    if th.AS_ROOT:  # tern import runs as nobody too: let it read the tree
        subprocess.run(["chmod", "-R", "a+rX", home], check=True)
    p = tern.cmd("import", "maildir", th.USER, maildir)
    imported = sorted(tuple(l.split()[1:3]) for l in p.stdout.splitlines()
                      if th.is_imported_line(l))
    assert imported == [("Archive", "1"), ("INBOX", "3"), ("INBOX", "4")], p.stdout

    # POP3 serves INBOX: UIDL is derived from Dovecot's UIDVALIDITY and UIDs,
    # the bytes are Dovecot's with CRLF line ends, sizes are exact.
    srv = tern.start()
    pop = th.pop_ssl(srv.pop3s_port)
    try:
        assert pop.stat() == (2, 2 * len(th.crlf(message(3))))
        assert th.uidl_map(pop) == {
            1: b"%08x%08x" % (inbox_validity, 3),
            2: b"%08x%08x" % (inbox_validity, 4),
        }
        assert th.retr_all(pop) == [th.crlf(message(3)), th.crlf(message(4))]
    finally:
        pop.quit()
    srv.terminate()

    # Export, and let Dovecot read the result: same UIDs, UIDVALIDITY, flags.
    out_parent = dovecot_home(tern, "export-home")
    if th.AS_ROOT:
        nobody = pwd.getpwnam("nobody")
        os.chown(out_parent, nobody.pw_uid, nobody.pw_gid)
    exported = os.path.join(out_parent, "Maildir")
    tern.cmd("export", "maildir", th.USER, exported)
    dc2 = Dovecot(out_parent, exported)
    after = dc2.fetch_uid_flags()
    assert after == before
    assert dc2.uidvalidity("INBOX") == inbox_validity
    assert dc2.uidvalidity("Archive") == archive_validity
    body = dc2.doveadm("fetch", "text", "mailbox", "INBOX", "uid", "3")
    assert "body of message 3" in body and ".a line starting with a dot" in body


def folders(maildir):
    return {d for d in os.listdir(maildir) if d.startswith(".") and d not in (".", "..")}


def test_escaped_mailbox_names_both_ways(tern_env):
    tern = tern_env
    names = ["a.b", "a/b", "a\\b", "~home", "R&D", "\u00c4rger",
             "\u53f0\u5317/\u65e5\u672c\u8a9e"]
    home = dovecot_home(tern, "dovecot-names")
    maildir = os.path.join(home, "Maildir")
    dc = Dovecot(home, maildir, Dovecot.LISTESCAPE)
    for i, name in enumerate(names):
        dc.doveadm("mailbox", "create", name)
        dc.run(DOVEADM, "-c", dc.conf, "save", "-m", name, input=message(i))
    if th.AS_ROOT:
        subprocess.run(["chmod", "-R", "a+rX", home], check=True)

    # Dovecot's folders come into tern as the same mailboxes ...
    p = tern.cmd("import", "maildir", th.USER, maildir)
    assert "imported 7 messages" in p.stdout, p.stdout
    out_parent = dovecot_home(tern, "export-names")
    if th.AS_ROOT:
        nobody = pwd.getpwnam("nobody")
        os.chown(out_parent, nobody.pw_uid, nobody.pw_gid)
    exported = os.path.join(out_parent, "Maildir")
    p = tern.cmd("export", "maildir", th.USER, exported)
    assert "mailbox a.b exported as .a\\2eb\n" in p.stdout, p.stdout
    # ... and go out in the folders Dovecot had (plus tern's own: the
    # parents a and \u53f0\u5317, and the special-use mailboxes)
    extra = folders(exported) - folders(maildir)
    assert folders(maildir) <= folders(exported), (folders(maildir), folders(exported))
    assert extra == {".a", ".&U,BTFw-", ".Drafts", ".Sent", ".Junk", ".Trash", ".Archive"}

    # Dovecot reads tern's export: every name, each with its own message
    dc2 = Dovecot(out_parent, exported, Dovecot.LISTESCAPE)
    listed = set(dc2.doveadm("mailbox", "list").split("\n")) - {""}
    assert set(names) <= listed, listed
    subjects = {}
    for line in dc2.doveadm("-f", "flow", "fetch", "mailbox hdr.subject", "all").splitlines():
        m = re.match(r"mailbox=(.*) hdr.subject=(.*)$", line.strip())
        assert m, line
        subjects[m.group(1)] = m.group(2)
    assert subjects == {name: "dovecot message %d" % i for i, name in enumerate(names)}
