# test_smtp - the SMTP services with real clients against one running
# server: Python's smtplib (port 25 plain and with STARTTLS, submission
# with STARTTLS and AUTH PLAIN, submissions on implicit TLS with AUTH
# LOGIN, SMTPUTF8, 8-bit bodies), swaks (--pipeline, --tls, --auth, long
# lines), curl (smtp:// and smtps://) and BDAT and pipelining over a raw
# socket; what they send is read back by POP3, byte for byte. Then what
# must be refused: unknown users, relaying with every routing trick, AUTH
# before TLS, a sender the account does not own, the size limit, too
# many recipients, and the smuggling endings, none of which may deliver a
# second message. And the answers to RCPT follow the directory at once
# when it changes beside the running server.
import base64
import os
import poplib
import smtplib
import subprocess
import uuid

import pytest

import tern_harness as th

USER3 = "demo3@localhost"
# The module's server has small limits, so that tests reach them quickly.
RECIPIENTS_MAX = 5
SIZE_MAX = 200000
# The long lines tern keeps (test_swaks) are longer than poplib's own
# guard against a runaway server.
poplib._MAXLINE = 1 << 20


@pytest.fixture(scope="module")
def srv():
    with th.smtp_tern({"limits.recipients": str(RECIPIENTS_MAX),
                       "limits.message_size": str(SIZE_MAX),
                       "smtp.postmaster": th.USER2}, users=[USER3]) as t:
        t.cmd("alias", "add", "team@localhost", "%s,%s,%s" % (th.USER, th.USER2, USER3))
        t.cmd("alias", "add", "postmaster@localhost", th.USER)
        t.start()
        yield t


def marker():
    return "m-" + uuid.uuid4().hex[:12]


def message(mark, body=b"Hello.\r\n", extra=b""):
    return (b"From: Sender <sender@example.org>\r\n"
            b"To: Demo <demo@localhost>\r\n"
            b"Subject: " + mark.encode() + b"\r\n"
            b"Date: Tue, 01 Dec 2026 10:00:00 +0000\r\n"
            b"Message-ID: <" + mark.encode() + b"@example.org>\r\n" + extra +
            b"\r\n" + body)


def mailbox(srv, user=th.USER, password=th.PASSWORD):
    p = th.pop_stls_retry(srv.pop3_port, user, password)
    try:
        return th.retr_all(p)
    finally:
        p.quit()


def delivered(srv, mark, user=th.USER, password=th.PASSWORD, count=1):
    """The messages in user's INBOX whose header holds `mark`; waits for
    `count` of them."""
    def find():
        found = [m for m in mailbox(srv, user, password)
                 if mark.encode() in m.split(b"\r\n\r\n", 1)[0]]
        return found if len(found) >= count else None
    found = th.wait_for(find, timeout=th.TIMEOUT)
    assert found, "%s never arrived for %s" % (mark, user)
    return found


def smtp(srv, port=None):
    s = smtplib.SMTP("127.0.0.1", port or srv.smtp_port, timeout=th.TIMEOUT)
    s.ehlo("client.example")
    return s


# ---------------------------------------------------------------- clients


def test_smtplib_port25_to_pop3(srv):
    mark = marker()
    msg = message(mark, body=b"Line one.\r\n.A leading dot.\r\n..two dots\r\n")
    s = smtp(srv)
    assert "auth" not in s.esmtp_features and "starttls" in s.esmtp_features
    assert s.sendmail("sender@example.org", [th.USER], msg) == {}
    s.quit()
    stored = delivered(srv, mark)[0]
    rp, received, rest = th.smtp_trace(stored)
    assert rp == b"Return-Path: <sender@example.org>"
    assert b"from client.example ([127.0.0.1])" in received
    assert b"by mail.test.example (tern) with ESMTP id " in received
    assert b"for <demo@localhost>;" in received
    assert rest == msg


def test_starttls_port25(srv):
    mark = marker()
    s = smtp(srv)
    s.starttls(context=th.tls_client_context())
    s.ehlo("client.example")
    assert "starttls" not in s.esmtp_features and "auth" not in s.esmtp_features
    s.sendmail("sender@example.org", [th.USER2], message(mark))
    s.quit()
    _, received, _ = th.smtp_trace(delivered(srv, mark, th.USER2, th.PASSWORD2)[0])
    assert b"(using TLSv1.3 with cipher " in received
    assert b"with ESMTPS id" in received


def test_submission_auth_plain(srv):
    mark = marker()
    s = th.smtp_submission(srv.submission_port)
    # Relaying once logged in: accepted for the outbound side.
    assert s.sendmail(th.USER, [th.USER2, "friend@remote.example"], message(mark)) == {}
    s.quit()
    _, received, _ = th.smtp_trace(delivered(srv, mark, th.USER2, th.PASSWORD2)[0])
    assert b"with ESMTPSA id" in received and b"for <" not in received
    assert th.USER.encode() not in received


def test_submissions_auth_login(srv):
    mark = marker()
    s = smtplib.SMTP_SSL("127.0.0.1", srv.submissions_port, timeout=th.TIMEOUT,
                         context=th.tls_client_context())
    s.ehlo("laptop.example")
    assert "starttls" not in s.esmtp_features
    assert s.esmtp_features["auth"].split() == ["PLAIN", "LOGIN"]
    s.user, s.password = th.USER2, th.PASSWORD2
    code, _ = s.auth("LOGIN", s.auth_login, initial_response_ok=False)
    assert code == 235
    s.sendmail(th.USER2, [th.USER], message(mark))
    s.quit()
    delivered(srv, mark)


def test_pipelined_rcpts_raw(srv):
    mark = marker()
    c = th.RawSMTP(srv.smtp_port)
    code, lines = c.cmd("EHLO client.example")
    assert code == 250 and "PIPELINING" in lines
    # RFC 2920: the whole transaction in one write, replies in order.
    c.send("MAIL FROM:<sender@example.org>\r\nRCPT TO:<%s>\r\nRCPT TO:<nobody@localhost>\r\n"
           "RCPT TO:<%s>\r\nDATA\r\n" % (th.USER, th.USER2))
    assert [c.reply()[0] for _ in range(5)] == [250, 250, 550, 250, 354]
    c.send(message(mark) + b".\r\nQUIT\r\n")
    code, text = c.reply()
    assert code == 250 and text[0].startswith("2.0.0 Ok: queued as "), text
    assert c.reply()[0] == 221
    c.close()
    delivered(srv, mark)
    delivered(srv, mark, th.USER2, th.PASSWORD2)


def test_smtputf8_and_8bit(srv):
    mark = marker()
    body = "Grüße, ça va? – 日本語\r\n".encode()
    msg = message(mark, body=body, extra="X-Name: Jörg\r\n".encode())
    s = smtp(srv)
    assert "smtputf8" in s.esmtp_features and "8bitmime" in s.esmtp_features
    s.sendmail("jörg@bücher.example", [th.USER], msg,
               mail_options=["SMTPUTF8", "BODY=8BITMIME"])
    s.quit()
    rp, received, rest = th.smtp_trace(delivered(srv, mark)[0])
    assert rp == "Return-Path: <jörg@bücher.example>".encode()
    assert b"with UTF8SMTP id" in received
    assert rest == msg
    # Without SMTPUTF8, a UTF-8 address is refused (RFC 6531 3.5).
    c = th.RawSMTP(srv.smtp_port)
    c.cmd("EHLO client.example")
    code, text = c.cmd("MAIL FROM:<jörg@example.org>")
    assert code == 550 and text[0].startswith("5.6.7"), text
    c.cmd("QUIT")
    c.close()


def swaks(*args):
    p = subprocess.run(["swaks", "--silent", "1", *args], capture_output=True, text=True,
                       timeout=th.TIMEOUT * 2)
    return p


def test_swaks(srv):
    mark = marker()
    long_line = "x" * 5000
    p = swaks("--server", "127.0.0.1:%d" % srv.smtp_port, "--pipeline", "--tls",
              "--to", "%s,%s" % (th.USER, th.USER2), "--from", "sender@example.org",
              "--header", "Subject: %s" % mark, "--body", "start\n%s\nend" % long_line)
    assert p.returncode == 0, p.stdout + p.stderr
    stored = delivered(srv, mark)[0]
    # RFC 5321 4.5.3.1.6 lets servers refuse long lines; tern keeps them.
    assert ("\r\n%s\r\n" % long_line).encode() in stored
    _, received, _ = th.smtp_trace(stored)
    assert b"with ESMTPS id" in received
    delivered(srv, mark, th.USER2, th.PASSWORD2)
    mark = marker()
    p = swaks("--server", "127.0.0.1:%d" % srv.submission_port, "--tls", "--auth", "LOGIN",
              "--auth-user", th.USER, "--auth-password", th.PASSWORD, "--from", th.USER,
              "--to", USER3, "--header", "Subject: %s" % mark)
    assert p.returncode == 0, p.stdout + p.stderr
    delivered(srv, mark, USER3)


def test_curl(srv, tmp_path):
    mark = marker()
    path = tmp_path / "msg.eml"
    path.write_bytes(message(mark))
    p = subprocess.run(["curl", "-sS", "smtp://127.0.0.1:%d" % srv.smtp_port,
                        "--mail-from", "sender@example.org", "--mail-rcpt", th.USER,
                        "--upload-file", str(path)], capture_output=True, timeout=th.TIMEOUT)
    assert p.returncode == 0, p.stderr
    delivered(srv, mark)
    mark = marker()
    path.write_bytes(message(mark))
    p = subprocess.run(["curl", "-sS", "-k", "smtps://127.0.0.1:%d" % srv.submissions_port,
                        "--user", "%s:%s" % (th.USER2, th.PASSWORD2),
                        "--mail-from", th.USER2, "--mail-rcpt", th.USER,
                        "--upload-file", str(path)], capture_output=True, timeout=th.TIMEOUT)
    assert p.returncode == 0, p.stderr
    delivered(srv, mark)


def test_bdat_raw(srv):
    mark = marker()
    msg = message(mark, body=b"chunked\r\n.not stuffed\r\n")
    c = th.RawSMTP(srv.smtp_port)
    code, lines = c.cmd("EHLO client.example")
    assert "CHUNKING" in lines
    c.send("MAIL FROM:<sender@example.org>\r\nRCPT TO:<%s>\r\n" % th.USER)
    assert [c.reply()[0] for _ in range(2)] == [250, 250]
    half = len(msg) // 2
    c.send(b"BDAT %d\r\n" % half + msg[:half] + b"BDAT %d LAST\r\n" % (len(msg) - half) +
           msg[half:])
    assert c.reply() == (250, ["2.0.0 %d octets received" % half])
    code, text = c.reply()
    assert code == 250 and text[0].startswith("2.0.0 Ok: queued as "), text
    assert c.cmd("QUIT")[0] == 221
    c.close()
    _, received, rest = th.smtp_trace(delivered(srv, mark)[0])
    assert rest == msg


def test_alias_fan_out(srv):
    mark = marker()
    s = smtp(srv)
    s.sendmail("sender@example.org", ["team@localhost"], message(mark))
    s.quit()
    for user, password in ((th.USER, th.PASSWORD), (th.USER2, th.PASSWORD2),
                           (USER3, th.PASSWORD)):
        _, received, _ = th.smtp_trace(delivered(srv, mark, user, password)[0])
        assert b"for <team@localhost>;" in received
    # One file on disk for the three mailboxes (DESIGN 5): the queue's,
    # linked into each account.
    inodes = set()
    for local in ("demo", "demo2", "demo3"):
        folder = os.path.join(srv.data_dir, "mail", "localhost", local, "msg")
        for name in os.listdir(folder):
            path = os.path.join(folder, name)
            with open(path, "rb") as f:
                if mark.encode() in f.read(4096):
                    inodes.add(os.stat(path).st_ino)
    assert len(inodes) == 1, inodes


def test_postmaster(srv):
    mark = marker()
    c = th.RawSMTP(srv.smtp_port)
    c.cmd("EHLO client.example")
    assert c.cmd("MAIL FROM:<>")[0] == 250
    # RFC 5321 4.1.1.3: <Postmaster> without a domain, any case.
    assert c.cmd("RCPT TO:<POSTMASTER>")[0] == 250
    # [smtp] postmaster takes it; postmaster@ a domain with its own
    # alias goes there.
    assert c.cmd("RCPT TO:<postmaster@localhost>")[0] == 250
    assert c.cmd("DATA")[0] == 354
    c.send(message(mark) + b".\r\n")
    assert c.reply()[0] == 250
    c.cmd("QUIT")
    c.close()
    delivered(srv, mark, th.USER2, th.PASSWORD2)
    delivered(srv, mark)


# ---------------------------------------------------------------- refusals


def test_unknown_user(srv):
    s = smtp(srv)
    with pytest.raises(smtplib.SMTPRecipientsRefused) as e:
        s.sendmail("sender@example.org", ["nobody@localhost"], message(marker()))
    code, text = e.value.recipients["nobody@localhost"]
    assert code == 550 and text == b"5.1.1 No such user here"
    s.quit()


def test_directory_changes_seen_at_once(srv):
    """A recipient asked about a moment ago is answered from the
    directory's cache, on the loop; `tern user add`, `tern alias add` and
    `tern alias del` beside the running server change the answer of the
    very next RCPT, in the same session."""
    mark = marker()
    late = "late-%s@localhost" % mark
    s = smtp(srv)
    s.mail("sender@example.org")
    for _ in range(3):      # the first from a job, then from the cache
        assert s.rcpt(late) == (550, b"5.1.1 No such user here")
    srv.cmd("alias", "add", late, th.USER2)
    assert s.rcpt(late)[0] == 250
    assert s.rcpt(late)[0] == 250
    srv.cmd("alias", "del", late)
    assert s.rcpt(late) == (550, b"5.1.1 No such user here")
    srv.cmd("user", "add", late, input=th.PASSWORD + "\n")
    assert s.rcpt(late)[0] == 250
    assert s.data(message(mark))[0] == 250
    s.quit()
    delivered(srv, mark, user=late)
    # until the POP3 session that read it has let go of the account
    assert th.wait_for(lambda: srv.cmd("user", "del", late, check=False).returncode == 0,
                       timeout=th.TIMEOUT)
    s = smtp(srv)
    s.mail("sender@example.org")
    assert s.rcpt(late) == (550, b"5.1.1 No such user here")
    s.quit()


@pytest.mark.parametrize("rcpt", [
    "friend@remote.example",                      # plain relaying
    "friend%remote.example@localhost",            # the percent hack
    "remote.example!friend@localhost",            # a bang path
    '"friend@remote.example"@localhost',          # an @ in a quoted local part
    "@localhost:friend@remote.example",           # a source route
    "friend@[192.0.2.1]",                         # an address literal
])
def test_relay_denied(srv, rcpt):
    c = th.RawSMTP(srv.smtp_port)
    c.cmd("EHLO client.example")
    assert c.cmd("MAIL FROM:<sender@example.org>")[0] == 250
    code, text = c.cmd("RCPT TO:<%s>" % rcpt)
    assert code == 554 and text[0].startswith("5.7.1 Relaying denied"), (rcpt, text)
    assert c.cmd("DATA") == (554, ["5.5.1 No valid recipients"])
    c.cmd("QUIT")
    c.close()


def test_auth_before_tls_refused(srv):
    s = smtplib.SMTP("127.0.0.1", srv.submission_port, timeout=th.TIMEOUT)
    s.ehlo("laptop.example")
    assert "auth" not in s.esmtp_features and "starttls" in s.esmtp_features
    with pytest.raises(smtplib.SMTPNotSupportedError):
        s.login(th.USER, th.PASSWORD)
    token = base64.b64encode(b"\0" + th.USER.encode() + b"\0" + th.PASSWORD.encode())
    code, text = s.docmd("AUTH", "PLAIN " + token.decode())
    assert code == 538 and text.startswith(b"5.7.11"), text
    code, text = s.docmd("MAIL", "FROM:<%s>" % th.USER)
    assert (code, text) == (530, b"5.7.0 Authentication required")
    s.quit()
    # Port 25 never offers AUTH, TLS or not.
    s = smtp(srv)
    s.starttls(context=th.tls_client_context())
    s.ehlo("client.example")
    code, _ = s.docmd("AUTH", "PLAIN " + token.decode())
    assert code == 503
    s.quit()


def test_wrong_sender(srv):
    s = th.smtp_submission(srv.submission_port)
    with pytest.raises(smtplib.SMTPSenderRefused) as e:
        s.sendmail(th.USER2, [th.USER], message(marker()))
    assert e.value.smtp_code == 553
    assert e.value.smtp_error == b"5.7.1 Sender address not owned by the authenticated user"
    s.rset()
    # Its own sub-address and an alias that names it are its own.
    assert s.sendmail("demo+tag@localhost", [th.USER2], message(marker())) == {}
    assert s.sendmail("postmaster@localhost", [th.USER2], message(marker())) == {}
    s.quit()


def test_size_limit(srv):
    s = smtp(srv)
    assert s.esmtp_features["size"] == str(SIZE_MAX)
    code, text = s.docmd("MAIL", "FROM:<sender@example.org> SIZE=%d" % (SIZE_MAX + 1))
    assert code == 552 and text.startswith(b"5.3.4"), text
    s.quit()
    # Without SIZE= (smtplib always sends it): read to the end, then refused.
    c = th.RawSMTP(srv.smtp_port)
    c.cmd("EHLO client.example")
    c.send("MAIL FROM:<sender@example.org>\r\nRCPT TO:<%s>\r\nDATA\r\n" % th.USER)
    assert [c.reply()[0] for _ in range(3)] == [250, 250, 354]
    c.send(message(marker(), body=(b"y" * 998 + b"\r\n") * (SIZE_MAX // 1000 + 1)) + b".\r\n")
    assert c.reply() == (552, ["5.3.4 Message too big"])
    assert c.cmd("NOOP")[0] == 250
    c.cmd("QUIT")
    c.close()


def test_too_many_recipients(srv):
    mark = marker()
    s = smtp(srv)
    rcpts = [th.USER, th.USER2, USER3, "team@localhost", "postmaster@localhost",
             "demo+a@localhost", "demo+b@localhost"]
    refused = s.sendmail("sender@example.org", rcpts, message(mark))
    # RFC 5321 4.5.3.1.10: 452, and the message goes to those accepted.
    assert refused == {r: (452, b"4.5.3 Too many recipients") for r in rcpts[RECIPIENTS_MAX:]}
    s.quit()
    delivered(srv, mark, USER3)


def test_smuggling(srv):
    """SMTP smuggling (2023): none of these endings ends the message, so
    the second message after it never exists: one reply comes, after the
    real CRLF.CRLF, and it refuses the bare CR or LF."""
    endings = [b"\n.\n", b"\r.\r", b"\r.\n", b"\n.\r", b"\n.\r\n", b"\r\n.\n", b"\r.\r\n",
               b"\r\n.\r", b"\r\n\0.\r\n", b"\r\n.\0\r\n"]
    marks = []
    c = th.RawSMTP(srv.smtp_port)
    c.cmd("EHLO client.example")
    for ending in endings:
        mark, evil = marker(), marker()
        marks.append(evil)
        c.send("MAIL FROM:<sender@example.org>\r\nRCPT TO:<%s>\r\nDATA\r\n" % th.USER)
        assert [c.reply()[0] for _ in range(3)] == [250, 250, 354]
        smuggled = ("MAIL FROM:<admin@localhost>\r\nRCPT TO:<%s>\r\nDATA\r\n"
                    "Subject: %s\r\n\r\nsmuggled\r\n.\r\n" % (USER3, evil)).encode()
        c.send(message(mark) + b"first" + ending + smuggled)
        code, text = c.reply()
        if b"\0" in ending:
            # No bare CR or LF: one message, the "commands" its text.
            assert code == 250, (ending, text)
        else:
            assert code == 554 and text[0].startswith("5.5.2 Bare "), (ending, text)
        # In step: the next reply is this NOOP's.
        assert c.cmd("NOOP") == (250, ["2.0.0 Ok"])
    c.cmd("QUIT")
    c.close()
    # Nothing reached the smuggled recipient.
    inbox3 = mailbox(srv, USER3)
    assert not any(m.encode() in b"".join(inbox3) for m in marks)


def test_tls_listeners_discard_pipelined(srv):
    """RFC 3207 4.2 (CVE-2011-0411): what follows STARTTLS in the same
    packet is discarded, not run after the handshake."""
    c = th.RawSMTP(srv.smtp_port)
    c.cmd("EHLO client.example")
    c.send("STARTTLS\r\nMAIL FROM:<evil@example.org>\r\n")
    assert c.line().startswith("220 2.0.0")
    c.sock = th.tls_client_context().wrap_socket(c.sock)
    # No 250 for the injected MAIL: the session starts over.
    assert c.cmd("MAIL FROM:<sender@example.org>") == (503, ["5.5.1 Send EHLO or HELO first"])
    c.cmd("QUIT")
    c.close()
