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
