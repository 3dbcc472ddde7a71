# test_imap_mailboxes - the mailbox commands with imaplib and a raw client:
# CREATE (a trailing "/" ignored, CREATE-SPECIAL-USE), DELETE (INBOX and a
# parent refused), RENAME with children, SUBSCRIBE/UNSUBSCRIBE (a
# subscription outlives its mailbox), LIST (patterns, the delimiter,
# special-use and children attributes everywhere, LIST-EXTENDED selection
# and return options, LIST-STATUS), LSUB, STATUS from the counts, and
# names in modified UTF-7 for rev1 clients and UTF-8 after ENABLE
# UTF8=ACCEPT; curl lists over imap:// with --ssl-reqd and imaps://.
import re
import shutil
import subprocess

import pytest

import tern_harness as th


@pytest.fixture(scope="module")
def imap():
    with th.imap_tern() as t:
        yield t


def listing(untagged, kind=b"LIST"):
    """{name: attributes} of LIST/LSUB responses."""
    out = {}
    for line in untagged:
        m = re.match(rb'\* ' + kind + rb' \(([^)]*)\) "/" (.*?)( \(.*\))?$', line)
        if m:
            out[m.group(2).strip(b'"').decode()] = set(m.group(1).decode().split())
    return out


@pytest.fixture
def raw(imap):
    r = th.RawIMAP(imap.imaps_port, tls=True)
    r.login(th.USER2, th.PASSWORD2)
    yield r
    r.close()


def test_list_default_mailboxes_with_special_use(raw):
    boxes = listing(raw.ok('LIST "" "*"'))
    assert set(boxes) == {"INBOX", "Drafts", "Sent", "Junk", "Trash", "Archive"}
    # RFC 6154: the attributes come whether asked for or not
    assert "\\Sent" in boxes["Sent"] and "\\Trash" in boxes["Trash"]
    assert all("\\HasNoChildren" in a for a in boxes.values())
    assert raw.ok('LIST "" ""') == [b'* LIST (\\Noselect) "/" ""']
    assert listing(raw.ok('LIST "" "inbox"')) == {"INBOX": {"\\HasNoChildren"}}


def test_create_list_rename_delete(raw):
    raw.ok("CREATE Projects/2026/")
    boxes = listing(raw.ok('LIST "" "Projects*"'))
    assert boxes == {"Projects": {"\\HasChildren"}, "Projects/2026": {"\\HasNoChildren"}}
    assert set(listing(raw.ok('LIST "" "%"'))) >= {"Projects"}
    assert "Projects/2026" not in listing(raw.ok('LIST "" "%"'))
    assert set(listing(raw.ok('LIST "Projects/" "%"'))) == {"Projects/2026"}
    _, done = raw.cmd("CREATE inbox")
    assert b"NO [ALREADYEXISTS]" in done, done
    _, done = raw.cmd("DELETE Projects")
    assert b"NO [HASCHILDREN]" in done, done
    raw.ok("RENAME Projects Work")
    assert set(listing(raw.ok('LIST "" "Work*"'))) == {"Work", "Work/2026"}
    assert listing(raw.ok('LIST "" "Projects*"')) == {}
    _, done = raw.cmd("RENAME Nope Other")
    assert b"NO [NONEXISTENT]" in done, done
    raw.ok("DELETE Work/2026")
    raw.ok("DELETE Work")
    _, done = raw.cmd("DELETE INBOX")
    assert b"NO [CANNOT]" in done, done
    _, done = raw.cmd("DELETE Work")
    assert b"NO [NONEXISTENT]" in done, done
    _, done = raw.cmd('CREATE "a*b"')
    assert b"NO [CANNOT]" in done, done


def rfc_listing(untagged):
    """{name: (attributes without \\HasChildren/\\HasNoChildren, CHILDINFO
    or None)}, to compare with RFC 5258's examples (tern adds the CHILDREN
    attributes to every response)."""
    out = {}
    for line in untagged:
        m = re.match(rb'\* LIST \(([^)]*)\) "/" "?([^" ]*)"?(?: \("CHILDINFO" \((.*)\)\))?$', line)
        assert m, line
        attrs = set(m.group(1).decode().split()) - {"\\HasChildren", "\\HasNoChildren"}
        out[m.group(2).decode()] = (attrs, m.group(3).decode() if m.group(3) else None)
    return out


def fresh(imap, name):
    """A raw session of a new account, its default mailboxes unsubscribed:
    each test builds an RFC example's hierarchy from nothing."""
    user = "%s@localhost" % name
    imap.cmd("user", "add", user, input=th.PASSWORD + "\n")
    r = th.RawIMAP(imap.imaps_port, tls=True)
    r.login(user)
    for box in listing(r.ok('LSUB "" "*"'), b"LSUB"):
        r.ok("UNSUBSCRIBE %s" % box)
    return r


SUB = '"SUBSCRIBED"'


def test_rfc5258_example_8_recursivematch_and_missing_parents(imap):
    r = fresh(imap, "rfc8")
    for box in ("Foo", "Foo/Bar", "Foo/Baz", "Moo"):
        r.ok("CREATE %s" % box)
    # A) only Foo/Baz subscribed
    r.ok("SUBSCRIBE Foo/Baz")
    assert rfc_listing(r.ok('LIST (SUBSCRIBED) "" "*"')) == {"Foo/Baz": ({"\\Subscribed"}, None)}
    assert rfc_listing(r.ok('LIST (SUBSCRIBED) "" "%"')) == {}
    assert rfc_listing(r.ok('LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"')) == {"Foo": (set(), SUB)}
    # A1) Foo subscribed too
    r.ok("SUBSCRIBE Foo")
    assert rfc_listing(r.ok('LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"')) == \
        {"Foo": ({"\\Subscribed"}, SUB)}
    # C) only Foo and Moo: no CHILDINFO
    r.ok("SUBSCRIBE Moo")
    r.ok("UNSUBSCRIBE Foo/Baz")
    untagged = r.ok('LIST (SUBSCRIBED RECURSIVEMATCH) "" "%" RETURN (CHILDREN)')
    assert rfc_listing(untagged) == {"Foo": ({"\\Subscribed"}, None), "Moo": ({"\\Subscribed"}, None)}
    assert b'* LIST (\\Subscribed \\HasChildren) "/" "Foo"' in untagged, untagged
    # B) none subscribed: nothing, though Foo has children
    r.ok("UNSUBSCRIBE Foo")
    r.ok("UNSUBSCRIBE Moo")
    assert rfc_listing(r.ok('LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"')) == {}
    # A2) the parent does not exist (a subscription outlives its mailbox)
    r.ok("SUBSCRIBE Goo/Baz")
    assert rfc_listing(r.ok('LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"')) == \
        {"Goo": ({"\\NonExistent"}, SUB)}
    # without RECURSIVEMATCH: "\NonExistent \HasChildren" (3.5's note,
    # example 11), so that "%" finds the way to Goo/Baz
    untagged = r.ok('LIST (SUBSCRIBED) "" "%"')
    assert untagged == [b'* LIST (\\NonExistent \\HasChildren) "/" "Goo"'], untagged
    assert rfc_listing(r.ok('LIST (SUBSCRIBED) "Goo/" "%"')) == \
        {"Goo/Baz": ({"\\Subscribed", "\\NonExistent"}, None)}
    r.close()


def test_rfc5258_example_9_childinfo_whatever_the_pattern(imap):
    r = fresh(imap, "rfc9")
    for box in ("foo2/bar1", "foo2/bar2", "baz2/bar2", "baz2/bar22", "baz2/bar222", "eps2/mamba",
                "qux2/bar2"):
        r.ok("CREATE %s" % box)
        r.ok("SUBSCRIBE %s" % box)
    r.ok("SUBSCRIBE eps2")
    got = rfc_listing(r.ok('LIST (RECURSIVEMATCH SUBSCRIBED) "" "*2"'))
    # the RFC's D03 (baz2 and qux2 left out: every child of theirs that is
    # subscribed is listed, 3.5's SHOULD)
    assert got == {
        "foo2": (set(), SUB),
        "foo2/bar2": ({"\\Subscribed"}, None),
        "baz2/bar2": ({"\\Subscribed"}, None),
        "baz2/bar22": ({"\\Subscribed"}, None),
        "baz2/bar222": ({"\\Subscribed"}, None),
        "eps2": ({"\\Subscribed"}, SUB),
        "qux2/bar2": ({"\\Subscribed"}, None),
    }, got
    got = rfc_listing(r.ok('LIST (RECURSIVEMATCH SUBSCRIBED) "" "*"'))
    assert got["eps2"] == ({"\\Subscribed"}, SUB) and got["eps2/mamba"] == ({"\\Subscribed"}, None)
    assert set(got) >= {"foo2/bar1", "foo2/bar2", "baz2/bar2", "qux2/bar2"}
    r.close()


def test_rfc5258_example_10_childinfo_without_children(imap):
    r = fresh(imap, "rfc10")
    r.ok("CREATE foo")
    r.ok("SUBSCRIBE foo/bar")
    assert rfc_listing(r.ok('LIST "" ("foo" "foo/*")')) == {"foo": (set(), None)}
    assert rfc_listing(r.ok('LIST (SUBSCRIBED) "" "foo/*"')) == \
        {"foo/bar": ({"\\Subscribed", "\\NonExistent"}, None)}
    untagged = r.ok('LIST (SUBSCRIBED RECURSIVEMATCH) "" foo RETURN (CHILDREN)')
    assert untagged == [b'* LIST (\\HasNoChildren) "/" "foo" ("CHILDINFO" ("SUBSCRIBED"))'], untagged
    r.close()


def test_recursivematch_with_special_use(imap):
    """(SUBSCRIBED SPECIAL-USE RECURSIVEMATCH): a child must be both; the
    CHILDINFO names the base option (RFC 5258 6: SPECIAL-USE is an
    independent one, RFC 6154 6)."""
    r = fresh(imap, "rfcsu")
    r.ok("CREATE Box/Plain")
    r.ok("CREATE Box/Out (USE (\\Sent))")
    r.ok("CREATE Other/Plain")
    for box in ("Box/Plain", "Box/Out", "Other/Plain", "Sent"):
        r.ok("SUBSCRIBE %s" % box)
    got = rfc_listing(r.ok('LIST (SUBSCRIBED SPECIAL-USE RECURSIVEMATCH) "" "%"'))
    assert got == {"Box": (set(), SUB), "Sent": ({"\\Subscribed", "\\Sent"}, None)}, got
    got = rfc_listing(r.ok('LIST (SUBSCRIBED SPECIAL-USE RECURSIVEMATCH) "" "*"'))
    assert got == {"Box/Out": ({"\\Subscribed", "\\Sent"}, None),
                   "Sent": ({"\\Subscribed", "\\Sent"}, None)}, got
    r.close()


def test_create_special_use(raw):
    raw.ok("CREATE Outbox (USE (\\Sent))")
    assert "\\Sent" in listing(raw.ok('LIST "" "Outbox"'))["Outbox"]
    _, done = raw.cmd("CREATE Odd (USE (\\Bogus))")
    assert b"NO [USEATTR]" in done, done
    boxes = listing(raw.ok('LIST (SPECIAL-USE) "" "*"'))
    assert "INBOX" not in boxes and "Outbox" in boxes and "Sent" in boxes
    raw.ok("DELETE Outbox")


def test_subscriptions_and_lsub(raw):
    raw.ok("CREATE Lists/tern")
    raw.ok("SUBSCRIBE Lists/tern")
    raw.ok("SUBSCRIBE Ghost/child")     # RFC 9051 6.3.7: need not exist
    subs = listing(raw.ok('LSUB "" "*"'), b"LSUB")
    assert "Lists/tern" in subs and "\\Noselect" in subs["Ghost/child"]
    # RFC 3501 6.3.9: "%" gives the unsubscribed superior as \Noselect
    top = listing(raw.ok('LSUB "" "%"'), b"LSUB")
    assert "\\Noselect" in top["Lists"] and "\\Noselect" in top["Ghost"]
    ext = listing(raw.ok('LIST (SUBSCRIBED) "" "*"'))
    assert "\\Subscribed" in ext["Lists/tern"]
    assert "\\NonExistent" in ext["Ghost/child"]
    assert "Lists" not in ext
    untagged = raw.ok('LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"')
    assert any(l.startswith(b'* LIST (\\HasChildren) "/" "Lists" ("CHILDINFO" ("SUBSCRIBED"))')
               for l in untagged), untagged
    _, done = raw.cmd('LIST (RECURSIVEMATCH) "" "%"')
    assert b"BAD" in done, done
    ret = listing(raw.ok('LIST "" "Lists*" RETURN (SUBSCRIBED CHILDREN)'))
    assert ret == {"Lists": {"\\HasChildren"}, "Lists/tern": {"\\Subscribed", "\\HasNoChildren"}}
    # a subscription outlives its mailbox
    raw.ok("DELETE Lists/tern")
    assert "Lists/tern" in listing(raw.ok('LSUB "" "*"'), b"LSUB")
    raw.ok("UNSUBSCRIBE Lists/tern")
    raw.ok("UNSUBSCRIBE Ghost/child")
    assert "Lists/tern" not in listing(raw.ok('LSUB "" "*"'), b"LSUB")
    raw.ok("DELETE Lists")


def test_status_and_list_status(imap, raw):
    msg = th.crlf(th.make_message(1))
    m = th.imap_ssl(imap.imaps_port, th.USER2, th.PASSWORD2)
    m.create("Counted")
    m.append("Counted", "(\\Seen)", None, msg)
    m.append("Counted", "(\\Deleted)", None, msg)
    m.append("Counted", None, None, msg)
    m.logout()
    untagged = raw.ok("STATUS Counted (MESSAGES UIDNEXT UNSEEN DELETED SIZE RECENT)")
    assert untagged == [b'* STATUS "Counted" (MESSAGES 3 UIDNEXT 4 UNSEEN 2 DELETED 1 SIZE %d RECENT 3)'
                        % (3 * len(msg))], untagged
    # rev1 \Recent: the first SELECT takes them, STATUS then counts none
    raw.ok("SELECT Counted")
    raw.ok("UNSELECT")
    assert raw.ok("STATUS Counted (RECENT)") == [b'* STATUS "Counted" (RECENT 0)']
    _, done = raw.cmd("STATUS Nowhere (MESSAGES)")
    assert b"NO [NONEXISTENT]" in done, done
    _, done = raw.cmd("STATUS Counted (BOGUS)")
    assert b"BAD" in done, done
    untagged = raw.ok('LIST "" "Count*" RETURN (STATUS (MESSAGES UIDVALIDITY))')
    assert untagged[0].startswith(b'* LIST (\\HasNoChildren) "/" "Counted"'), untagged
    assert re.match(rb'\* STATUS "Counted" \(MESSAGES 3 UIDVALIDITY \d+\)$', untagged[1]), untagged
    # no STATUS is sent unless asked (Thunderbird)
    assert not any(l.startswith(b"* STATUS") for l in raw.ok('LIST "" "*"'))
    raw.ok("DELETE Counted")


def test_names_utf7_and_utf8(raw):
    # modified UTF-7 for a rev1 client (RFC 3501 5.1.3): "Entwürfe"
    raw.ok("CREATE Entw&APw-rfe")
    assert "Entw&APw-rfe" in listing(raw.ok('LIST "" "Entw*"'))
    _, done = raw.cmd("CREATE Bad&Name")
    assert b"BAD" in done, done
    raw.ok("ENABLE UTF8=ACCEPT")
    untagged = raw.ok('LIST "" "Entw*"')
    assert 'Entwürfe'.encode() in untagged[0], untagged
    raw.ok('DELETE "Entwürfe"')


def test_names_utf8_for_rev2(imap):
    """RFC 9051 5.1: an IMAP4rev2 session has UTF-8 names, no mUTF-7."""
    r = th.RawIMAP(imap.imaps_port, tls=True)
    r.login(th.USER2, th.PASSWORD2)
    r.ok("ENABLE IMAP4rev2")
    r.ok('CREATE "Ablage/Grüße"')
    assert 'Grüße'.encode() in r.ok('LIST "" "Ablage/*"')[0]
    r.close()
    r = th.RawIMAP(imap.imaps_port, tls=True)
    r.login(th.USER2, th.PASSWORD2)
    assert b"Ablage/Gr&APwA3w-e" in r.ok('LIST "" "Ablage/*"')[0]
    r.ok("DELETE Ablage/Gr&APwA3w-e")
    r.ok("DELETE Ablage")
    r.close()


def test_list_pipelined_many_mailboxes(raw):
    names = ["Many/%03d" % i for i in range(300)]
    raw.send(b"".join(b"c%d CREATE %s\r\n" % (i, n.encode()) for i, n in enumerate(names)))
    for i in range(len(names)):
        _, done = raw.read_until("c%d" % i)
        assert b"OK" in done, done
    boxes = listing(raw.ok('LIST "" "Many/*"'))
    assert sorted(boxes) == names
    for n in names:
        raw.send(("d DELETE %s\r\n" % n).encode())
    for n in names:
        raw.read_until("d")
    raw.ok("DELETE Many")


# a test dependency (scripts/deps.sh test): its absence fails
CURL = shutil.which("curl") or "curl"


@pytest.mark.parametrize("scheme", ["imap", "imaps"])
def test_curl_list(imap, scheme):
    port = imap.imap_port if scheme == "imap" else imap.imaps_port
    args = [CURL, "-sS", "--insecure", "--max-time", str(int(th.TIMEOUT)),
            "--user", "%s:%s" % (th.USER, th.PASSWORD), "%s://127.0.0.1:%d/" % (scheme, port)]
    if scheme == "imap":
        args.insert(1, "--ssl-reqd")
    p = subprocess.run(args, capture_output=True, text=True, timeout=th.TIMEOUT * 2)
    assert p.returncode == 0, p.stderr
    assert '"/" INBOX' in p.stdout or '"/" "INBOX"' in p.stdout, p.stdout
    assert "\\Sent" in p.stdout
