# test_import_hardening - `tern import` with hostile or repeated sources
# (issue 5, defect 7): a symlink is refused (even one leading to another
# account's stored message), a FIFO is refused at once instead of hanging
# the import (and `tern check -c FIFO` too), a message over [limits]
# message_size is skipped while the rest goes in, and running an import
# again adds only what is new. What a user sees is checked with POP3.
import os

import tern_harness as th

# a refusal must come at once; a hang shows as a timeout here
QUICK = 10 * th.SLOW


def imported_lines(p):
    return [l for l in p.stdout.splitlines() if th.is_imported_line(l)]


def write_file(path, data, mode=0o644):
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, mode)


def stored_files(tern, address):
    local, domain = address.split("@")
    d = os.path.join(tern.data_dir, "mail", domain, local, "msg")
    return d, sorted(os.listdir(d))


def test_symlinked_sources_are_refused(pop3_server):
    tern, srv = pop3_server
    # another account's mail, stored by tern
    secret = th.make_message(7, subject="for demo2 only")
    tern.import_mbox(th.USER2, [secret])
    msg_dir, [stored] = stored_files(tern, th.USER2)

    mbox = tern.write_mbox([th.make_message(1)])
    link = tern.source_path("link.mbox")
    os.symlink(mbox, link)
    to_stored = tern.source_path("stored.mbox")
    os.symlink(os.path.join(msg_dir, stored), to_stored)
    # the last part is a file, a folder on the way is the symlink
    via_dir = tern.source_path("msgdir")
    os.symlink(msg_dir, via_dir)

    for path, why in ((link, "a symbolic link, not followed"),
                      (to_stored, "a symbolic link, not followed"),
                      (os.path.join(via_dir, stored),
                       "a file of tern's own message store, not imported")):
        p = tern.cmd("import", "mbox", th.USER, path, check=False, timeout=QUICK)
        assert p.returncode == 1, (p.stdout, p.stderr)
        assert "%s: %s" % (path, why) in p.stderr, p.stderr
        assert imported_lines(p) == []

    # a Maildir: the symlink in cur/ is refused, the real file imported
    outside = tern.source_path("outside")
    write_file(outside, b"Subject: outside\n\noutside\n")
    good = b"Subject: good\r\n\r\ngood\r\n"
    root = tern.source_path("Maildir")
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(root, sub))
    for dirpath, _, _ in os.walk(root):
        os.chmod(dirpath, 0o755)
    write_file(os.path.join(root, "cur", "1.good:2,S"), good)
    os.symlink(outside, os.path.join(root, "cur", "2.link:2,S"))
    os.symlink(os.path.join(msg_dir, stored), os.path.join(root, "cur", "3.stored:2,S"))
    p = tern.cmd("import", "maildir", th.USER, root, timeout=QUICK)
    assert len(imported_lines(p)) == 1, p.stdout
    assert "cur/2.link:2,S: a symbolic link, not followed" in p.stderr, p.stderr
    assert "cur/3.stored:2,S: a symbolic link, not followed" in p.stderr, p.stderr
    assert "imported 1 messages into 1 mailboxes, 0 already present, 2 skipped" in p.stdout

    pop = th.pop_ssl(srv.pop3s_port)
    assert th.retr_all(pop) == [good]
    pop.quit()


def test_fifo_is_refused_without_hanging(tern_env):
    tern = tern_env
    fifo = tern.source_path("fifo")
    os.mkfifo(fifo)
    os.chmod(fifo, 0o666)
    p = tern.cmd("import", "mbox", th.USER, fifo, check=False, timeout=QUICK)
    assert p.returncode == 1
    assert "%s: a FIFO, not a regular file" % fifo in p.stderr, p.stderr

    root = tern.source_path("Maildir")
    os.makedirs(os.path.join(root, "cur"))
    for dirpath, _, _ in os.walk(root):
        os.chmod(dirpath, 0o755)
    os.mkfifo(os.path.join(root, "cur", "1.fifo:2,"))
    os.mkfifo(os.path.join(root, "dovecot-uidlist"))
    write_file(os.path.join(root, "cur", "2.real:2,"), b"Subject: real\n\nreal\n")
    p = tern.cmd("import", "maildir", th.USER, root, timeout=QUICK)
    assert "1.fifo:2,: a FIFO, not a regular file" in p.stderr, p.stderr
    assert "dovecot-uidlist: a FIFO, not a regular file; UIDs not kept" in p.stderr
    assert len(imported_lines(p)) == 1

    # the configuration file too
    conf = tern.source_path("tern.conf")
    os.mkfifo(conf)
    p = tern.cmd("check", "-c", conf, check=False, timeout=QUICK)
    assert p.returncode != 0
    assert "%s: not a regular file" % conf in p.stderr, p.stderr


def test_message_over_the_size_limit_is_skipped(tern_env):
    tern = tern_env
    small = [th.make_message(1), th.make_message(3)]
    big = th.big_message(2, 5000)
    path = tern.write_mbox([small[0], big, small[1]])
    limit = {"limits.message_size": "2K"}
    p = tern.cmd("import", "mbox", th.USER, path, sets=limit)
    assert len(imported_lines(p)) == 2, p.stdout
    assert "skipped %s#2: %d bytes, over the limit of 2048 ([limits] message_size)" % (
        path, len(th.crlf(big))) in p.stderr, p.stderr
    assert "imported 2 messages into 1 mailboxes, 0 already present, 1 skipped" in p.stdout

    p = tern.import_maildir(th.USER2, {"cur/1.big:2,": big, "cur/2.small:2,": small[0]},
                            sets=limit)
    assert "cur/1.big:2,: %d bytes, over the limit of 2048" % len(big) in p.stderr, p.stderr
    assert len(imported_lines(p)) == 1

    srv = tern.start()
    pop = th.pop_ssl(srv.pop3s_port)
    assert th.retr_all(pop) == [th.crlf(m) for m in small]
    pop.quit()


def test_import_again_adds_only_what_is_new(pop3_server):
    tern, srv = pop3_server
    msgs = [th.make_message(i) for i in (1, 2, 3)]
    path = tern.write_mbox(msgs)
    p = tern.cmd("import", "mbox", th.USER, path)
    assert len(imported_lines(p)) == 3
    pop = th.pop_ssl(srv.pop3s_port)
    uids = th.uidl_map(pop)
    pop.quit()

    # the same file again: nothing new, and the output says so
    p = tern.cmd("import", "mbox", th.USER, path)
    assert imported_lines(p) == []
    assert "imported 0 messages into 1 mailboxes, 3 already present, 0 skipped" in p.stdout

    # a later mbox of the same mailbox with one new message: just that one
    path2 = tern.write_mbox(msgs + [th.make_message(4)])
    p = tern.cmd("import", "mbox", th.USER, path2)
    assert len(imported_lines(p)) == 1, p.stdout
    assert "imported 1 messages into 1 mailboxes, 3 already present, 0 skipped" in p.stdout

    # a Maildir holding the same messages (LF on disk, as mbox had) and
    # one of its own: only that one
    files = {"cur/%d.x:2,S" % i: m for i, m in enumerate(msgs, 1)}
    files["new/9.y"] = th.make_message(9)
    p = tern.import_maildir(th.USER, files)
    assert len(imported_lines(p)) == 1, p.stdout
    p = tern.import_maildir(th.USER, files)
    assert imported_lines(p) == []
    assert "imported 0 messages into 1 mailboxes, 4 already present, 0 skipped" in p.stdout

    pop = th.pop_ssl_retry(srv.pop3s_port)
    got = th.retr_all(pop)
    assert got == [th.crlf(m) for m in msgs + [th.make_message(4), th.make_message(9)]]
    # the messages that were there keep their UIDL
    assert {k: v for k, v in th.uidl_map(pop).items() if k <= 3} == uids
    pop.quit()
