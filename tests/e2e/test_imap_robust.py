# test_imap_robust - regressions found by attacking the IMAP server (issue
# 7): hostile mail and hostile clients that once broke it. One server for
# the module, raw sockets (plain IMAP, the plaintext loopback login on).
import pytest

import tern_harness as th


@pytest.fixture(scope="module")
def imap():
    with th.imap_tern({"auth.allow_plaintext_loopback": "yes"}) as t:
        yield t


def session(imap, mailbox):
    """A raw session logged in, `mailbox` created and selected."""
    r = th.RawIMAP(imap.imap_port)
    r.login()
    r.cmd("CREATE %s" % mailbox)
    r.ok("SELECT %s" % mailbox)
    return r


def append(r, mailbox, message):
    untagged, done = r.cmd(b"APPEND %s {%d+}\r\n" % (mailbox.encode(), len(message)) + message)
    assert b" OK [APPENDUID " in done, done


def test_binary_of_an_empty_part(imap):
    # An empty part read into memory had a NULL buffer passed to memchr
    # and memmove (undefined behaviour; the sanitized server died).
    r = session(imap, "empty-part")
    append(r, "empty-part", b"Content-Type: multipart/mixed; boundary=\"\"\r\n\r\n"
           b"--\r\n\r\nx\r\n----\r\n")
    append(r, "empty-part", b"Subject: no body\r\n\r\n")
    for n in (1, 2):
        untagged, done = r.cmd("FETCH %d (BINARY.PEEK[1] BINARY.PEEK[1]<0.5>)" % n)
        assert done.endswith(b"OK FETCH completed"), done
        assert untagged == [b"* %d FETCH (BINARY[1] \"\" BINARY[1]<0> \"\")" % n], untagged
    r.ok("NOOP")
    r.close()


def test_search_in_an_empty_mailbox(imap):
    # The empty view's NULL UID array went to memcpy (undefined; the
    # sanitized server died).
    r = session(imap, "empty-search")
    assert r.ok("SEARCH ALL") == [b"* SEARCH"]
    assert r.ok("UID SEARCH RETURN (MIN MAX COUNT) TEXT x") == [b"* ESEARCH (TAG \"t5\") UID COUNT 0"]
    r.close()


def test_logged_in_no_is_not_a_protocol_error(imap):
    # Every NO counted towards [limits] errors_per_session (20): a
    # session lasting days, or a client retrying APPEND on a full disk,
    # was hung up on. BAD still counts.
    r = session(imap, "no-count")
    for i in range(25):
        untagged, done = r.cmd("STATUS nowhere%d (MESSAGES)" % i)
        assert b" NO [NONEXISTENT]" in done, done
    r.ok("NOOP")
    r.close()


@pytest.mark.skipif(not th.AS_ROOT, reason="mounts a small tmpfs")
def test_full_disk_append_overquota_and_delete():
    # A message file's write failing with ENOSPC answered NO
    # [UNAVAILABLE] (an I/O error): it is OVERQUOTA. And STORE +FLAGS
    # (\Deleted) failed on the full disk, so an IMAP user could not
    # delete mail to make room (POP3's DELE could: the space reserve).
    import os
    import pwd
    import subprocess
    t = th.Tern({"auth.allow_plaintext_loopback": "yes", "limits.min_free_space": "0"})
    nobody = pwd.getpwnam("nobody")
    os.mkdir(t.data_dir)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m,uid=%d,gid=%d,mode=0700" %
                    (nobody.pw_uid, nobody.pw_gid), "tmpfs", t.data_dir], check=True)
    try:
        t.enable_imap()
        t.setup_accounts()
        t.start()
        r = th.RawIMAP(t.imap_port)
        r.login()  # the first login makes the special-use folders
        append(r, "INBOX", th.crlf(th.make_message(1)))
        append(r, "INBOX", th.crlf(th.make_message(2)))
        r.ok("SELECT INBOX")
        fd = os.open(os.path.join(t.data_dir, "filler"), os.O_WRONLY | os.O_CREAT, 0o600)
        for size in (65536, 512, 1):
            try:
                while True:
                    os.write(fd, b"x" * size)
            except OSError:
                pass
        os.close(fd)
        big = th.crlf(th.big_message(3, 512 * 1024))
        untagged, done = r.cmd(b"APPEND INBOX {%d+}\r\n" % len(big) + big)
        assert b" NO [OVERQUOTA] " in done, done
        untagged, done = r.cmd("STORE 1 +FLAGS (\\Deleted)")
        assert done.endswith(b"OK STORE completed"), done
        assert r.ok("EXPUNGE") == [b"* 1 EXPUNGE"]
        r.close()
    finally:
        for srv in t.servers:
            srv.stop_quietly()
        subprocess.run(["umount", t.data_dir], check=False)
        assert not t.cleanup()


def test_delete_of_own_selected_mailbox_closes_it(imap):
    # The session that deleted its own selected mailbox got "* BYE" and
    # lost its connection at its next command; now the mailbox is closed
    # (as Dovecot does) and the session goes on. Another session that
    # has it selected still gets BYE.
    r = session(imap, "self-delete")
    other = th.RawIMAP(imap.imap_port)
    other.login()
    other.ok("SELECT self-delete")
    r.ok("DELETE self-delete")
    assert r.ok("NOOP") == []
    untagged, done = r.cmd("FETCH 1 FLAGS")
    assert b" BAD " in done, done
    r.ok("SELECT INBOX")
    r.close()
    other.send(b"n NOOP\r\n")
    assert other.readline().startswith(b"* BYE ")
    assert other.is_closed()
