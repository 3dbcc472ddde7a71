# test_dkim - DKIM signing as a receiver checks it: `tern dkim keygen`
# makes an RSA and an Ed25519 key for a domain and prints their DNS
# records; a message a user of that domain submits on 587 (STARTTLS,
# AUTH) or hands to `tern sendmail` arrives with both signatures, and
# dkimpy (Debian's python3-dkim) verifies each against the TXT record
# keygen printed (its dnsfunc answers, no DNS server needed), and so
# does OpenDKIM (`opendkim -t` with TestPublicKeys). Mail that
# comes in on port 25 is not signed; `tern dkim list` shows the keys; a
# key rewritten on disk is used from the next message on. Attacks: From
# fields of odd forms (case, comments, trailing dot, IDN, two domains,
# two fields, literals), no body, a body of line ends, 10,000 fields, a
# 1 MB field, BDAT chunks cut inside every CRLF, a key swapped for a
# symlink and 10,000 other files in the key folder while it runs, and
# kill -9 under signing submissions: nothing acknowledged is lost.
import base64
import os
import pwd
import random
import re
import smtplib
import subprocess
import uuid

import dkim
import pytest

import tern_harness as th
from test_sendmail import as_sender
from test_smtp import delivered, mailbox

DOMAIN = "sign.example"
ALICE = "alice@" + DOMAIN


@pytest.fixture(scope="module")
def srv():
    with th.smtp_tern() as t:
        t.cmd("domain", "add", DOMAIN)
        t.cmd("user", "add", ALICE, input=th.PASSWORD + "\n")
        t.records = {}
        for alg, selector in (("rsa", None), ("ed25519", "ed")):
            args = ["dkim", "keygen", DOMAIN, "--algorithm", alg]
            if selector is not None:
                args += ["--selector", selector]
            out = t.cmd(*args).stdout
            name, record = parse_zone_line(out)
            t.records[name] = record
        t.start()
        # `tern sendmail`'s configuration, as /etc/tern/tern.conf
        t.config = os.path.join(t.work_dir, "tern.conf")
        with open(t.config, "w") as f:
            f.write("[server]\nhostname = mail.test.example\npublic_dir = %s\n" % t.public_dir)
        os.chmod(t.config, 0o644)
        yield t


def parse_zone_line(out):
    """(owner name, record text) of the `NAME. IN TXT "..." "..."` line."""
    line = [ln for ln in out.splitlines() if " IN TXT " in ln]
    assert len(line) == 1, out
    name, rest = line[0].split(" IN TXT ", 1)
    strings = re.findall(r'"([^"]*)"', rest)
    assert strings and all(len(s) <= 255 for s in strings), rest
    return name, "".join(strings)


def dnsfunc(srv):
    def lookup(name, timeout=5):
        return srv.records.get(name.decode().rstrip(".") + ".", "").encode() or None
    return lookup


def marker():
    return "m-" + uuid.uuid4().hex[:12]


def message(mark, sender=ALICE):
    # folding, white space at line ends, a leading dot, 8-bit text and
    # empty lines at the end: what relaxed canonicalisation must get right
    return ("From: Alice <%s>\r\n"
            "To: Demo <demo@localhost>\r\n"
            "Subject: %s\r\n"
            "  folded  subject\t\r\n"
            "Date: Tue, 01 Dec 2026 10:00:00 +0000\r\n"
            "Message-ID: <%s@sign.example>\r\n"
            "MIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n"
            "Content-Transfer-Encoding: 8bit\r\n"
            "\r\n"
            "Hello,   caf\u00e9.  \r\n"
            ".a line with a leading dot\r\n"
            "\r\n\r\n" % (sender, mark, mark)).encode()


def signatures(stored):
    header = stored.split(b"\r\n\r\n", 1)[0]
    return re.findall(rb"^DKIM-Signature:.*?(?=\r\n[^ \t])", header, re.M | re.S)


def signed_names(sig):
    """The h= tag of a DKIM-Signature field, as a list of names."""
    h = re.search(rb"h=([^;]*);", sig).group(1)
    return re.sub(rb"\s+", b"", h).decode().split(":")


def verify_all(srv, stored, count=2):
    sigs = signatures(stored)
    assert len(sigs) == count, stored[:2000]
    d = dkim.DKIM(stored)
    for idx in range(count):
        assert d.verify(idx=idx, dnsfunc=dnsfunc(srv)), (idx, sigs[idx])
    return sigs


def test_keygen_records(srv):
    assert len(srv.records) == 2
    rsa = [r for r in srv.records.values() if "k=rsa" in r][0]
    assert rsa.startswith("v=DKIM1; k=rsa; p=MIIB")   # RSA 2048's SubjectPublicKeyInfo
    assert "ed._domainkey.%s." % DOMAIN in srv.records
    listing = srv.cmd("dkim", "list").stdout
    assert re.search(r"^%s rsa-\d{6} rsa signing$" % DOMAIN, listing, re.M), listing
    assert re.search(r"^%s ed ed25519 signing$" % DOMAIN, listing, re.M), listing
    # each key's record, as keygen printed it, under its key
    listed = dict(parse_zone_line(line.strip()) for line in listing.splitlines()
                  if " IN TXT " in line)
    assert listed == srv.records, listing
    # a second key with the same selector is refused
    p = srv.cmd("dkim", "keygen", DOMAIN, "--selector", "ed", check=False)
    assert p.returncode == 1 and "already" in p.stderr
    # the key files are the server user's and private, in a private folder
    folder = os.path.join(srv.data_dir, "dkim", DOMAIN)
    assert os.stat(folder).st_mode & 0o777 == 0o700
    for name in os.listdir(folder):
        st = os.stat(os.path.join(folder, name))
        assert st.st_mode & 0o777 == 0o600
        if th.AS_ROOT:
            assert st.st_uid == pwd.getpwnam("nobody").pw_uid


def test_submission_signed(srv):
    mark = marker()
    s = th.smtp_submission(srv.submission_port, ALICE, th.PASSWORD)
    assert s.sendmail(ALICE, [th.USER], message(mark), mail_options=["BODY=8BITMIME"]) == {}
    s.quit()
    stored = delivered(srv, mark)[0]
    sigs = verify_all(srv, stored)
    assert b"a=rsa-sha256" in sigs[0] and b"a=ed25519-sha256" in sigs[1]
    # the fields present that a reader sees (RFC 6376 5.4.1), From
    # oversigned (8.15) and no other absent one; the body is signed whole
    for sig in sigs:
        assert signed_names(sig) == ["from", "from", "to", "subject", "date", "message-id",
                                     "mime-version", "content-type",
                                     "content-transfer-encoding"], sig
        assert b"l=" not in sig
    # a change in transit breaks it
    tampered = stored.replace(b"Hello,", b"Hallo,")
    with pytest.raises(dkim.ValidationError, match="body hash mismatch"):
        dkim.DKIM(tampered).verify(idx=0, dnsfunc=dnsfunc(srv))


def test_opendkim_verifies(srv, tmp_path):
    """OpenDKIM's verifier (opendkim -t, which checks a message's first
    signature) on each of the two signatures alone."""
    mark = marker()
    s = th.smtp_submission(srv.submission_port, ALICE, th.PASSWORD)
    assert s.sendmail(ALICE, [th.USER], message(mark), mail_options=["BODY=8BITMIME"]) == {}
    s.quit()
    stored = delivered(srv, mark)[0]
    sigs = signatures(stored)
    assert len(sigs) == 2
    keys = tmp_path / "keys"
    keys.write_text("".join("%s %s\n" % (name.rstrip("."), record)
                            for name, record in srv.records.items()))
    conf = tmp_path / "opendkim.conf"
    conf.write_text("Mode v\nSyslog no\nTestPublicKeys %s\n" % keys)
    for sig, other in ((sigs[0], sigs[1]), (sigs[1], sigs[0])):
        selector = re.search(rb"[ \t]s=([^;]+);", sig).group(1).decode()
        path = tmp_path / ("signed-" + selector)
        # the other DKIM-Signature is no signed field: leaving it out
        # changes nothing for this one
        path.write_bytes(stored.replace(other + b"\r\n", b""))
        p = subprocess.run(["opendkim", "-x", str(conf), "-t", str(path)], capture_output=True,
                           text=True, timeout=th.TIMEOUT)
        out = p.stdout + p.stderr
        assert p.returncode == 0 and "verification (s=%s, d=%s" % (selector, DOMAIN) in out \
            and out.rstrip().endswith("succeeded"), out
    # and a changed message fails
    path.write_bytes(path.read_bytes().replace(b"Hello,", b"Hallo,"))
    p = subprocess.run(["opendkim", "-x", str(conf), "-t", str(path)], capture_output=True,
                       text=True, timeout=th.TIMEOUT)
    assert "failed" in p.stdout + p.stderr


def test_sendmail_signed(srv):
    mark = marker()
    env = dict(os.environ, TERN_CONFIG=srv.config)
    p = subprocess.run([th.TERN_BIN, "sendmail", th.USER], input=message(mark), env=env,
                       capture_output=True, preexec_fn=as_sender, timeout=th.TIMEOUT)
    assert p.returncode == 0, p.stderr
    verify_all(srv, delivered(srv, mark)[0])


def test_port25_not_signed(srv):
    mark = marker()
    s = smtplib.SMTP("127.0.0.1", srv.smtp_port, timeout=th.TIMEOUT)
    s.ehlo("client.example")
    assert s.sendmail(ALICE, [th.USER], message(mark), mail_options=["BODY=8BITMIME"]) == {}
    s.quit()
    assert signatures(delivered(srv, mark)[0]) == []


def test_unsigned_domain_and_new_key(srv):
    # a From domain without keys: not signed
    mark = marker()
    s = th.smtp_submission(srv.submission_port, ALICE, th.PASSWORD)
    assert s.sendmail(ALICE, [th.USER], message(mark, "alice@other.example"),
                      mail_options=["BODY=8BITMIME"]) == {}
    s.quit()
    assert signatures(delivered(srv, mark)[0]) == []
    # a new RSA key: the running server signs with it from now on
    out = srv.cmd("dkim", "keygen", DOMAIN, "--selector", "next").stdout
    name, record = parse_zone_line(out)
    srv.records[name] = record
    mark = marker()
    s = th.smtp_submission(srv.submission_port, ALICE, th.PASSWORD)
    assert s.sendmail(ALICE, [th.USER], message(mark), mail_options=["BODY=8BITMIME"]) == {}
    s.quit()
    sigs = verify_all(srv, delivered(srv, mark)[0])
    assert b"s=next;" in sigs[0]


def test_bdat_last_line_open(srv):
    """BDAT on submissions (implicit TLS), in chunks whose last line has
    no CRLF: tern adds one to what it stores, and what it signed is what
    it stored."""
    mark = marker()
    msg = message(mark)[:-4] + b"no line end"
    c = th.RawSMTP(srv.submissions_port, tls=True)
    code, lines = c.cmd("EHLO laptop.example")
    assert code == 250 and "CHUNKING" in lines
    token = base64.b64encode(("\0%s\0%s" % (ALICE, th.PASSWORD)).encode()).decode()
    assert c.cmd("AUTH PLAIN " + token)[0] == 235
    c.send("MAIL FROM:<%s> BODY=8BITMIME\r\nRCPT TO:<%s>\r\n" % (ALICE, th.USER))
    assert [c.reply()[0] for _ in range(2)] == [250, 250]
    third = len(msg) // 3
    c.send(b"BDAT %d\r\n" % third + msg[:third] + b"BDAT %d\r\n" % third +
           msg[third:2 * third] + b"BDAT %d LAST\r\n" % (len(msg) - 2 * third) + msg[2 * third:])
    assert [c.reply()[0] for _ in range(3)] == [250, 250, 250]
    assert c.cmd("QUIT")[0] == 221
    c.close()
    stored = delivered(srv, mark)[0]
    assert stored.endswith(b"no line end\r\n")
    verify_all(srv, stored)


def test_broken_key_defers(srv):
    """A key file of the domain that cannot be read: its mail waits (451)
    rather than leave unsigned; fixed, it goes signed."""
    path = os.path.join(srv.data_dir, "dkim", DOMAIN, "broken.key")
    with open(path, "w") as f:
        f.write("not a key\n")
    try:
        s = th.smtp_submission(srv.submission_port, ALICE, th.PASSWORD)
        with pytest.raises(smtplib.SMTPDataError) as e:
            s.sendmail(ALICE, [th.USER], message(marker()), mail_options=["BODY=8BITMIME"])
        assert e.value.smtp_code == 451
        s.quit()
        assert srv.cmd("dkim", "list", check=False).returncode == 1
    finally:
        os.unlink(path)
    mark = marker()
    s = th.smtp_submission(srv.submission_port, ALICE, th.PASSWORD)
    assert s.sendmail(ALICE, [th.USER], message(mark), mail_options=["BODY=8BITMIME"]) == {}
    s.quit()
    verify_all(srv, delivered(srv, mark)[0])


def submit(srv, msg):
    """msg (bytes) submitted on 587 by alice: the reply to its data."""
    s = th.smtp_submission(srv.submission_port, ALICE, th.PASSWORD)
    try:
        s.mail(ALICE, ["BODY=8BITMIME"])
        s.rcpt(th.USER)
        return s.data(msg)
    finally:
        s.quit()


def test_odd_messages(srv):
    """From fields of odd forms and odd headers and bodies: each message
    is taken, and signed (verifying) exactly when its From names one
    domain with keys; the server goes on serving."""
    big = "X-Big: " + "\r\n ".join(["x" * 70] * 15000)    # 1 MB, folded: not signed
    many = "".join("X-N%d: %d\r\n" % (i, i) for i in range(10000))
    huge_subject = "Subject: " + "\r\n ".join(["s" * 70] * 2000)   # over the signer's bound
    cases = [
        # (From field(s), more header, body, signed)
        ("From: Alice <alice@SIGN.Example>\r\n", "", "hi\r\n", True),
        ("From: (c) alice@sign.example (Alice)\r\n", "", "hi\r\n", True),
        ("From: \"A, B\" <alice@sign.example>, alice@Sign.example\r\n", "", "hi\r\n", True),
        ("From: alice@sign.example.\r\n", "", "hi\r\n", False),
        ("From: alice@xn--bcher-kva.example\r\n", "", "hi\r\n", False),
        ("From: alice@sign.example, bob@other.example\r\n", "", "hi\r\n", False),
        ("From: alice@sign.example\r\nFrom: alice@sign.example\r\n", "", "hi\r\n", False),
        ("From: <>\r\n", "", "hi\r\n", False),
        ("From: alice@[127.0.0.1]\r\n", "", "hi\r\n", False),
        ("From: alice@sign.example\r\n", "", None, True),            # no body at all
        ("From: alice@sign.example\r\n", "", "\r\n" * 500, True),   # only line ends
        ("From: alice@sign.example\r\n", "", "", True),             # an empty body
        ("From: alice@sign.example\r\n", big + "\r\n", "hi\r\n", True),
        ("From: alice@sign.example\r\n", many, "hi\r\n", True),
        ("From: alice@sign.example\r\n", huge_subject + "\r\n", "hi\r\n", False),
    ]
    for i, (from_, more, body, signed) in enumerate(cases):
        mark = marker()
        head = from_ + "To: demo@localhost\r\nMessage-ID: <%s@x>\r\n" % mark + more
        msg = (head + ("" if body is None else "\r\n" + body)).encode()
        code, text = submit(srv, msg)
        assert code == 250, (i, code, text)
        stored = delivered(srv, mark)[0]
        if signed:
            sigs = verify_all(srv, stored)
            if i == 0:
                # no Subject, Date or MIME fields: not named in h=
                assert signed_names(sigs[0]) == ["from", "from", "to", "message-id"], sigs[0]
        else:
            assert signatures(stored) == [], i


def test_bdat_chunks_split_line_ends(srv):
    """BDAT chunks cut between the CR and the LF of every line end (the
    header's end included), and one octet each at the header's end: the
    signature covers what was stored."""
    mark = marker()
    msg = message(mark)
    cuts = [i + 1 for i in range(len(msg)) if msg[i:i + 2] == b"\r\n"]
    end = msg.index(b"\r\n\r\n")
    cuts = sorted(set(cuts + list(range(end - 2, end + 6))))
    c = th.RawSMTP(srv.submissions_port, tls=True)
    assert c.cmd("EHLO laptop.example")[0] == 250
    token = base64.b64encode(("\0%s\0%s" % (ALICE, th.PASSWORD)).encode()).decode()
    assert c.cmd("AUTH PLAIN " + token)[0] == 235
    c.send("MAIL FROM:<%s> BODY=8BITMIME\r\nRCPT TO:<%s>\r\n" % (ALICE, th.USER))
    assert [c.reply()[0] for _ in range(2)] == [250, 250]
    start = 0
    for cut in cuts:
        c.send(b"BDAT %d\r\n" % (cut - start) + msg[start:cut])
        assert c.reply()[0] == 250
        start = cut
    c.send(b"BDAT %d LAST\r\n" % (len(msg) - start) + msg[start:])
    assert c.reply()[0] == 250
    assert c.cmd("QUIT")[0] == 221
    c.close()
    verify_all(srv, delivered(srv, mark)[0])


def test_key_folder_attacks(srv):
    """The key folder while the server runs: a key replaced by a symlink
    to a good key elsewhere is not followed (the mail waits, 451, as for
    a broken key); 10,000 other files beside the keys change nothing."""
    folder = os.path.join(srv.data_dir, "dkim", DOMAIN)
    key = [n for n in os.listdir(folder) if n.startswith("rsa-")][0]
    path = os.path.join(folder, key)
    aside = os.path.join(srv.data_dir, "aside.key")
    os.rename(path, aside)
    os.symlink(aside, path)
    try:
        code, _ = submit(srv, message(marker()))
        assert code == 451
    finally:
        os.unlink(path)
        os.rename(aside, path)
    for i in range(10000):
        with open(os.path.join(folder, "junk%d.txt" % i), "w"):
            pass
    try:
        mark = marker()
        assert submit(srv, message(mark))[0] == 250
        verify_all(srv, delivered(srv, mark)[0])
    finally:
        for i in range(10000):
            os.unlink(os.path.join(folder, "junk%d.txt" % i))


def test_kill9_while_signing(srv):
    """kill -9 of the server under signing submissions (last here: it
    restarts the module's server): every message that got its 250 is
    delivered once, its two signatures verifying; none is kept twice."""
    rnd = random.Random()
    sent = {}

    def next_job():
        if len(sent) >= 2000:
            return None
        mark = marker()
        sent[mark] = True
        return mark, ALICE, [th.USER], message(mark)

    old = srv.servers[-1]
    load = th.SmtpLoad(srv.submission_port, next_job, 6, per_session=rnd.randrange(1, 6),
                       connect=lambda: th.smtp_submission(srv.submission_port, ALICE,
                                                          th.PASSWORD))
    load.start()
    target = rnd.randrange(5, 40)
    assert th.wait_for(lambda: len(load.acked) >= target, interval=0.005), len(load.acked)
    old.kill9()
    load.join()
    assert not load.refused, load.refused
    print("%d acked, %d cut" % (len(load.acked), len(load.lost)))
    srv.start()

    def by_mark():
        found = {}
        for m in mailbox(srv, th.USER, th.PASSWORD):
            mark = re.search(rb"^Subject: (m-[0-9a-f]+)\r$", m.split(b"\r\n\r\n", 1)[0], re.M)
            if mark is not None:
                found.setdefault(mark.group(1).decode(), []).append(m)
        return found if all(mark in found for mark in load.acked) else None
    found = th.wait_for(by_mark, timeout=th.TIMEOUT)
    assert found, "acknowledged mail lost"
    for mark in load.acked:
        assert len(found[mark]) == 1, mark
        verify_all(srv, found[mark][0])
    for mark in load.lost:
        assert len(found.get(mark, [])) <= 1, mark
