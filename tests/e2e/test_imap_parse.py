# test_imap_parse - the IMAP command parser through a real server and a
# raw client: synchronizing and non-synchronizing literals (LITERAL+),
# a literal over the bound refused without a continuation or read and
# dropped (RFC 7888 4), a command line over [imap] line_length, bare LF,
# a command sent a byte at a time, malformed commands answered BAD with
# their tag, and a client that hangs up inside a literal. After each
# error the next command is read as a command.
import pytest

import tern_harness as th

# src/imap/imap-session.c: a literal held in memory may have 64 KB.
LITERAL_MAX = 64 * 1024


@pytest.fixture(scope="module")
def imap():
    with th.imap_tern({"imap.line_length": "4096"}) as t:
        yield t


def raw(imap):
    return th.RawIMAP(imap.imaps_port, tls=True)


def test_synchronizing_literals(imap):
    r = raw(imap)
    user, password = th.USER.encode(), th.PASSWORD.encode()
    r.send(b"a LOGIN {%d}\r\n" % len(user))
    # exactly "+ " and text: the continuation only once the size is accepted
    assert r.readline().startswith(b"+ ")
    r.send(user + b" {%d}\r\n" % len(password))
    assert r.readline().startswith(b"+ ")
    r.send(password + b"\r\n")
    _, done = r.read_until("a")
    assert done.startswith(b"a OK"), done
    r.ok("NOOP")
    r.close()


def test_non_synchronizing_literals(imap):
    r = raw(imap)
    assert b"LITERAL+" in r.greeting
    user, password = th.USER.encode(), th.PASSWORD.encode()
    r.send(b"a LOGIN {%d+}\r\n%s {%d+}\r\n%s\r\nb NOOP\r\n"
           % (len(user), user, len(password), password))
    _, done = r.read_until("a")
    assert done.startswith(b"a OK"), done
    _, done = r.read_until("b")
    assert done.startswith(b"b OK"), done
    r.close()


def test_literal_too_big(imap):
    r = raw(imap)
    # synchronizing: refused at once, no "+", and the client sends nothing
    r.send(b"a LOGIN {%d}\r\n" % (LITERAL_MAX + 1))
    line = r.readline()
    assert line.startswith(b"a ") and b"TOOBIG" in line, line
    r.ok("NOOP")
    # non-synchronizing: its bytes come anyway; they are read and dropped
    r.send(b"b LOGIN {%d+}\r\n" % (LITERAL_MAX + 1) + b"x" * (LITERAL_MAX + 1) +
           b" {3+}\r\nabc\r\nc NOOP\r\n")
    _, done = r.read_until("b")
    assert b"TOOBIG" in done, done
    _, done = r.read_until("c")
    assert done.startswith(b"c OK"), done
    r.close()


def test_line_too_long(imap):
    r = raw(imap)
    r.send(b"a NOOP " + b"x" * 5000 + b"\r\nb NOOP\r\n")
    _, done = r.read_until("a")
    assert b"TOOBIG" in done and b"too long" in done, done
    _, done = r.read_until("b")
    assert done.startswith(b"b OK"), done
    # the bound is the whole command's, literals not counted
    r.send(b"c LOGIN {4000+}\r\n" + b"y" * 4000 + b" z\r\n")
    _, done = r.read_until("c")
    assert b"too long" not in done, done
    r.close()


def test_bare_lf_and_bytes_one_at_a_time(imap):
    r = raw(imap)
    r.send(b"a NOOP\n")
    _, done = r.read_until("a")
    assert done.startswith(b"a OK"), done
    for c in b"b ID (\"name\" \"byte by byte\" \"os\" NIL)\r\n":
        r.send(bytes([c]))
    untagged, done = r.read_until("b")
    assert done.startswith(b"b OK") and untagged[0].startswith(b"* ID "), (untagged, done)
    r.close()


@pytest.mark.parametrize("command", [
    b"ID (\"a\" \"b\"",             # unbalanced parentheses
    b"ID \"a\" \"b\"))",
    b"ID (" * 40 + b")" * 40,       # too deep
    b"ID (\"a\\q\")",               # a bad escape
    b"ID \"unterminated",
    b"LOGIN {3x}",                  # a bad literal header
    b"LOGIN {3} x",
])
def test_malformed_gets_bad_with_tag(imap, command):
    r = raw(imap)
    r.send(b"a " + command + b"\r\nb NOOP\r\n")
    _, done = r.read_until("a")
    assert done.startswith(b"a BAD") or done.startswith(b"a NO [TOOBIG]"), done
    _, done = r.read_until("b")
    assert done.startswith(b"b OK"), done
    r.close()


def test_missing_tag_gets_untagged_bad(imap):
    r = raw(imap)
    r.send(b"\r\n\r\n+ NOOP\r\n")
    assert r.readline().startswith(b"* BAD")
    r.ok("NOOP")
    r.close()


def test_hang_up_inside_literal(imap):
    r = raw(imap)
    r.send(b"a LOGIN {100}\r\n")
    assert r.readline().startswith(b"+ ")
    r.send(b"half a literal")
    r.close()
    r = raw(imap)
    r.send(b"a LOGIN {100+}\r\nnot all of it")
    r.close()
    # the server goes on (its log is checked for trouble on leaving)
    r = raw(imap)
    r.login()
    r.ok("NOOP")
    r.close()
