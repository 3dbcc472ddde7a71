# test_import_export - `tern import` and `tern export` against a running
# server: an import while a POP3 session holds the account loses nothing
# (the repair in store_open must not touch the server's messages), an
# export re-imports with the same UIDs and bytes, and mailbox names that
# Maildir++ cannot hold as they are ("a.b" beside "a/b") each get their own
# folder and come back as the same mailboxes. An export never follows
# what another local user plants in its target while it runs. An import
# killed (kill -9) in the middle of a large Maildir, then run again,
# stores every message exactly once, whole.
import os
import re
import signal
import subprocess
import threading

import tern_harness as th


def test_import_while_session_open_then_export(pop3_server):
    tern, srv = pop3_server
    first = tern.import_mbox(th.USER, [th.make_message(1), th.make_message(2)])
    p = th.pop_stls(srv.pop3_port)
    assert p.stat()[0] == 2
    # a second process imports while the session has the store open
    more = tern.import_mbox(th.USER, [th.make_message(3)])
    maildir = tern.import_maildir(th.USER, {"cur/1.a:2,S": b"Subject: md\r\n\r\nmd\r\n"})
    assert maildir.returncode == 0
    p.quit()
    p = th.pop_stls_retry(srv.pop3_port)
    assert th.retr_all(p) == first + more + [b"Subject: md\r\n\r\nmd\r\n"]
    p.quit()

    out = export_dir(tern, "export")
    r = tern.cmd("export", "maildir", th.USER, out)
    assert "exported 4 messages" in r.stdout
    assert len(os.listdir(os.path.join(out, "cur"))) == 4
    r = tern.cmd("import", "maildir", th.USER2, out)
    assert [l for l in r.stdout.splitlines() if th.is_imported_line(l)][-1].startswith("imported INBOX 4 ")
    p = th.pop_stls(srv.pop3_port, user=th.USER2, password=th.PASSWORD2)
    assert th.retr_all(p) == first + more + [b"Subject: md\r\n\r\nmd\r\n"]
    p.quit()


def test_import_mbox_cr_and_from_lines(tern_env):
    tern = tern_env
    path = tern.source_path("odd.mbox")
    with open(path, "wb") as f:
        f.write(b"From a@b Sat Jan  3 01:05:34 1996\nSubject: x\r\n\nFrom \nold\rmac\n")
    os.chmod(path, 0o644)
    r = tern.cmd("import", "mbox", th.USER, path)
    assert len([l for l in r.stdout.splitlines() if th.is_imported_line(l)]) == 1, r.stdout
    assert "imported 1 messages" in r.stdout
    # what a POP3 client then sees: one message, the "From " line without a
    # date kept in the body, and only CRLF line ends on the wire (RFC 5322
    # 2.3: no bare CR or LF)
    srv = tern.start()
    p = th.pop_ssl(srv.pop3s_port)
    [msg] = th.retr_all(p)
    p.quit()
    assert msg.startswith(b"Subject: x\r\n\r\nFrom \r\nold")
    assert msg.endswith(b"mac\r\n")
    assert msg.count(b"\r") == msg.count(b"\n") == msg.count(b"\r\n"), msg


def export_dir(tern, name):
    """An empty folder the unprivileged user tern drops to can write."""
    out = os.path.join(tern.work_dir, name)
    os.mkdir(out)
    os.chmod(out, 0o777)
    return out


def exported_tree(root):
    """{folder: {file name in cur/: bytes}} of an export."""
    tree = {}
    for folder in os.listdir(root):
        cur = os.path.join(root, folder, "cur")
        if folder.startswith(".") and os.path.isdir(cur):
            tree[folder] = {n: open(os.path.join(cur, n), "rb").read() for n in os.listdir(cur)}
    return tree


def test_export_escapes_names_that_maildir_cannot_hold(tern_env):
    tern = tern_env
    names = ["a", "a.b", "a/b", "a\\b", "\u00c4rger", "R&D"]
    for i, name in enumerate(names):
        path = tern.write_mbox([th.make_message(i, subject="in " + name)])
        tern.cmd("import", "mbox", th.USER, path, "--mailbox", name)
    out = export_dir(tern, "export")
    r = tern.cmd("export", "maildir", th.USER, out)
    assert "exported 6 messages" in r.stdout
    for name, folder in (("a.b", ".a\\2eb"), ("a\\b", ".a\\5cb"),
                         ("\u00c4rger", ".&AMQ-rger"), ("R&D", ".R&-D")):
        assert "mailbox %s exported as %s\n" % (name, folder) in r.stdout, r.stdout
    assert "mailbox a/b exported" not in r.stdout
    tree = exported_tree(out)
    # every mailbox its own folder, holding its own message
    for name, folder in zip(names, [".a", ".a\\2eb", ".a.b", ".a\\5cb", ".&AMQ-rger", ".R&-D"]):
        [(_, data)] = tree[folder].items()
        assert ("Subject: in %s\r\n" % name).encode() in data, (folder, data)

    # imported elsewhere and exported again: the same folders, names, bytes
    tern.cmd("import", "maildir", th.USER2, out)
    out2 = export_dir(tern, "export2")
    tern.cmd("export", "maildir", th.USER2, out2)
    assert exported_tree(out2) == tree


def test_export_does_not_follow_a_symlink_planted_during_it(tern_env):
    """The target must be writable by [server] user, which owns
    directory.db: another local user who can write there watches the
    export and plants links to DATA/directory.db where it will write next
    (a message's temporary file, named from its UID). The export used to
    create its files with O_TRUNC through any link and wrote over the
    directory."""
    tern = tern_env
    # enough messages (one fsync each) that the planter, who waits for the
    # first one to learn the UIDVALIDITY, is well ahead of the last one
    tern.import_mbox(th.USER, [th.make_message(i) for i in range(200)])
    victim = os.path.join(tern.data_dir, "directory.db")
    with open(victim, "rb") as f:
        before = f.read()
    planted = 0
    for attempt in range(3):
        out = export_dir(tern, "export%d" % attempt)
        done = threading.Event()
        won = []

        def plant():
            cur = os.path.join(out, "cur")
            while not done.is_set():
                try:
                    names = os.listdir(cur)
                except OSError:
                    continue
                for name in names:
                    m = re.match(r"(\d+)\.U\d+V(\d+)\.tern", name)
                    if m:
                        last = "%s.U200V%s.tern" % (m.group(1), m.group(2))
                        try:
                            os.symlink(victim, os.path.join(out, "tmp", last))
                            won.append(True)
                        except OSError:
                            pass
                        return

        planter = threading.Thread(target=plant)
        planter.start()
        r = tern.cmd("export", "maildir", th.USER, out, check=False)
        done.set()
        planter.join()
        with open(victim, "rb") as f:
            assert f.read() == before, "the export wrote through the planted link"
        if won:
            planted += 1
            assert r.returncode == 1 and "something else was put there" in r.stderr, r.stderr
            break
        assert r.returncode == 0, r.stderr
    assert planted > 0, "the planter never got in before the last message"
    assert "demo@localhost" in tern.cmd("user", "list").stdout


def test_import_killed_midway_then_rerun_stores_each_once(tern_env):
    tern = tern_env
    n = 3000
    root = tern.source_path("Maildir")
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(root, sub))
    msgs = {}
    for i in range(n):
        name = "%d.M%dP1.host:2,S" % (1700000000 + i, i)
        msgs[name] = b"Subject: %d\r\n\r\n%s\r\n" % (i, b"x" * (i % 97))
        with open(os.path.join(root, "cur", name), "wb") as f:
            f.write(msgs[name])
    for dirpath, dirs, files in os.walk(root):
        os.chmod(dirpath, 0o755)
        for name in files:
            os.chmod(os.path.join(dirpath, name), 0o644)

    p = tern.popen("import", "maildir", th.USER, root, stdout=subprocess.PIPE,
                   stderr=subprocess.DEVNULL)
    printed = 0
    for line in p.stdout:
        printed += th.is_imported_line(line.decode())
        if printed >= 300:
            break
    p.send_signal(signal.SIGKILL)
    p.wait()
    p.stdout.close()
    assert printed >= 300

    r = tern.cmd("import", "maildir", th.USER, root)
    m = re.search(r"imported (\d+) messages into 1 mailboxes, (\d+) already present, 0 skipped",
                  r.stdout)
    assert m, r.stdout
    imported, present = int(m.group(1)), int(m.group(2))
    # what was reported before the kill was committed; perhaps a batch more
    assert present >= printed
    assert imported + present == n

    # the store holds each message once, whole, and no stray file
    out = export_dir(tern, "export")
    tern.cmd("export", "maildir", th.USER, out)
    got = sorted(open(os.path.join(out, "cur", f), "rb").read()
                 for f in os.listdir(os.path.join(out, "cur")))
    assert got == sorted(msgs.values())
    local, domain = th.USER.split("@")
    assert len(os.listdir(os.path.join(tern.data_dir, "mail", domain, local, "msg"))) == n
