# test_relay_postfix - tern's queue manager and Postfix from Debian,
# mail going both ways with no mock in the path: tern A on 127.0.0.5
# (port 25 and submission, a DKIM key for a.test, its [dns] servers a
# dnsmasq serving `MX p.test -> mx.p.test -> 127.0.0.6` and A's DKIM
# record) and one private Postfix instance on 127.0.0.6:25 (its own
# main.cf and master.cf, nothing of /etc/postfix) that receives p.test
# into Maildirs (virtual(8)) with STARTTLS offered, and sends a.test to
# A's port 25 (transport_maps) and sat.test to A's submission port as a
# satellite does (AUTH over STARTTLS, its password map). A user of A
# submits to p.test: the message arrives by MX over STARTTLS, DKIM-signed
# as sent (dkimpy verifies Postfix's stored copy against dnsmasq's
# record), 2 MB of 8-bit text with leading dots byte for byte (BDAT:
# Postfix offers CHUNKING), two recipients in one transaction and a
# third, over Postfix's smtpd_recipient_limit, in a second on the same
# connection; SMTPUTF8 passed on; a message over Postfix's SIZE bounced
# without being sent; an unknown user at p.test gives a DSN with
# Postfix's reply; a 451 from Postfix keeps the message queued with that
# answer until `tern queue flush` after the fix; NOTIFY=SUCCESS, ORCPT
# and ENVID go on to Postfix, whose report is the only one Alice gets.
# Postfix's sendmail to a.test: in A's mailbox with both Received
# headers (UTF8SMTPS for a UTF-8 header), and an unknown user there is
# Postfix's own bounce of tern's 550 5.1.1 at RCPT; Postfix as a satellite with AUTH: DKIM-signed by A.
import email
import email.policy
import os
import pwd
import re
import shutil
import signal
import smtplib
import tempfile
import uuid

import dkim
import pytest

import tern_harness as th
from test_dkim import parse_zone_line
from test_relay import DNSMASQ, dig_txt, header_fields, start_dnsmasq
from test_smtp import delivered
from test_smtp_postfix import POSTFIX, SENDMAIL, Postfix

TERN_IP = "127.0.0.5"
POSTFIX_IP = "127.0.0.6"
ALICE = "alice@a.test"
CAROL = "carol@sat.test"
USER = "user@p.test"
USER2 = "user2@p.test"
LATER = "later@p.test"      # refused with a 451 until the fix
SENDER = "sender@p.test"    # Postfix's sender: its bounces come here
MAILBOXES = (USER, USER2, LATER, SENDER)

pytestmark = pytest.mark.skipif(not th.AS_ROOT or not os.path.exists(DNSMASQ),
                                reason="needs root (port 25) and dnsmasq")

MAIN_CF = """\
# Written by tests/e2e/test_relay_postfix.py: p.test's MX, and the
# sender of a.test (to tern's port 25) and sat.test (to tern's
# submission port, as a satellite).
compatibility_level = 3.6
queue_directory = {top}/spool
data_directory = {top}/lib
maillog_file = {top}/maillog
maillog_file_prefixes = {top}
myhostname = mx.p.test
myorigin = p.test
mydestination =
mynetworks = {ip}/32
local_recipient_maps =
alias_maps =
alias_database =
# the one smtpd binds {ip} (master.cf); Postfix finds no interface
# of that address (lo has 127.0.0.1/8)
inet_interfaces = loopback-only
inet_protocols = ipv4
smtp_bind_address = {ip}
# no DNS server but dnsmasq, which Postfix does not use: no PTR lookups
smtpd_peername_lookup = no
virtual_mailbox_domains = p.test
virtual_mailbox_base = {top}/mail
virtual_mailbox_maps = texthash:{top}/etc/vmailbox
virtual_uid_maps = static:{uid}
virtual_gid_maps = static:{gid}
# two RCPTs per transaction (a third: 452 4.5.3), and 3 MB at most
smtpd_recipient_limit = 2
message_size_limit = 3145728
smtpd_recipient_restrictions = check_recipient_access texthash:{top}/etc/access
smtpd_tls_security_level = may
smtpd_tls_cert_file = {top}/etc/mx.crt
smtpd_tls_key_file = {top}/etc/mx.key
smtpd_tls_received_header = yes
smtpd_tls_loglevel = 1
smtp_tls_security_level = may
smtp_tls_loglevel = 1
transport_maps = texthash:{top}/etc/transport
# the satellite: TLS required and AUTH (PLAIN over TLS) to the
# submission port only, the password map's one key
smtp_tls_policy_maps = inline:{{ [127.0.0.1]:{sub}=encrypt }}
smtp_sasl_auth_enable = yes
smtp_sasl_password_maps = inline:{{ [127.0.0.1]:{sub}={user}:{password} }}
smtp_sasl_security_options = noanonymous
smtp_sasl_tls_security_options = noanonymous
"""

# Debian's master.cf with smtpd on one loopback address, the virtual
# delivery agent and no chroot.
MASTER_CF = """\
{ip}:25   inet  n    -      n -    -  smtpd
pickup    unix  n    -      n 60   1  pickup
cleanup   unix  n    -      n -    0  cleanup
qmgr      unix  n    -      n 300  1  qmgr
tlsmgr    unix  -    -      n 1000? 1 tlsmgr
rewrite   unix  -    -      n -    -  trivial-rewrite
bounce    unix  -    -      n -    0  bounce
defer     unix  -    -      n -    0  bounce
trace     unix  -    -      n -    0  bounce
verify    unix  -    -      n -    1  verify
flush     unix  n    -      n 1000? 0 flush
proxymap  unix  -    -      n -    -  proxymap
smtp      unix  -    -      n -    -  smtp
relay     unix  -    -      n -    -  smtp
showq     unix  n    -      n -    -  showq
error     unix  -    -      n -    -  error
retry     unix  -    -      n -    -  error
discard   unix  -    -      n -    -  discard
virtual   unix  -    n      n -    -  virtual
anvil     unix  -    -      n -    1  anvil
scache    unix  -    -      n -    1  scache
postlog   unix-dgram n -    n -    1  postlogd
"""

LATER_ACCESS = "%s 451 4.7.1 Try again later (e2e)\n" % LATER


@pytest.fixture(scope="module")
def peers():
    """(a, postfix, dns_port): tern A and the Postfix instance, both
    running."""
    for path in (POSTFIX, SENDMAIL):
        assert os.access(path, os.X_OK), "%s missing: run `sh scripts/deps.sh test`" % path
    # retries only when flushed: the deferral test flushes after its fix
    a = th.Tern({"server.hostname": "mx.a.test", "queue.relayhost": "",
                 "queue.source_address": TERN_IP, "queue.retry_first": "3600"})
    proc = folder = postfix = None
    top = tempfile.mkdtemp(prefix="tern-e2e-postfix-")
    try:
        a.enable_smtp()
        a.sets["listen.smtp"] = TERN_IP + ":25"
        for domain, user in (("a.test", ALICE), ("sat.test", CAROL)):
            a.cmd("domain", "add", domain)
            a.cmd("user", "add", user, input=th.PASSWORD + "\n")
        txt_name, txt_record = parse_zone_line(a.cmd("dkim", "keygen", "a.test").stdout)
        proc, port, folder = start_dnsmasq(txt_name, txt_record, (
            "mx-host=p.test,mx.p.test,10", "host-record=mx.p.test," + POSTFIX_IP))
        a.sets["dns.servers"] = "127.0.0.1:%d" % port
        a.start()
        # Postfix's daemons drop to its mail_owner, virtual(8) to nobody:
        # both must cross the folder
        os.chmod(top, 0o755)
        nobody = pwd.getpwnam("nobody")
        postfix = Postfix(top, MAIN_CF.format(top=top, ip=POSTFIX_IP, uid=nobody.pw_uid,
                                              gid=nobody.pw_gid, sub=a.submission_port,
                                              user=ALICE, password=th.PASSWORD),
                          MASTER_CF.format(ip=POSTFIX_IP))
        th.make_cert(postfix.etc, "mx", "mx.p.test")
        write(postfix, "vmailbox", "".join("%s p.test/%s/\n" % (m, m.split("@")[0])
                                           for m in MAILBOXES))
        write(postfix, "access", LATER_ACCESS)
        write(postfix, "transport", "a.test smtp:[%s]:25\nsat.test smtp:[127.0.0.1]:%d\n"
              % (TERN_IP, a.submission_port))
        os.mkdir(os.path.join(top, "mail"), 0o755)
        os.chown(os.path.join(top, "mail"), nobody.pw_uid, nobody.pw_gid)
        postfix.start()
        assert th.wait_for(lambda: smtp_answers(POSTFIX_IP)), postfix.maillog()
        yield a, postfix, port
    finally:
        if postfix is not None:
            postfix.stop()
        problems = a.cleanup()
        if proc is not None:
            proc.send_signal(signal.SIGTERM)
            proc.wait()
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
        shutil.rmtree(top, ignore_errors=True)
    assert not problems, "\n".join(problems)


def write(postfix, name, text):
    with open(os.path.join(postfix.etc, name), "w") as f:
        f.write(text)


def smtp_answers(ip, rcpt=None):
    """Postfix's smtpd greets (and, with rcpt, takes that RCPT)."""
    try:
        s = smtplib.SMTP(ip, 25, timeout=th.TIMEOUT)
    except OSError:
        return False
    try:
        s.ehlo("probe.a.test")
        if rcpt is None:
            return True
        s.mail(ALICE)
        return s.rcpt(rcpt)[0] == 250
    finally:
        s.close()


def marker():
    return "pr-" + uuid.uuid4().hex[:12]


def message(mark, to, body=b"Hello from A.\r\n.a leading dot\r\n"):
    return ("From: Alice <%s>\r\nTo: %s\r\nSubject: %s\r\n"
            "Message-ID: <%s@a.test>\r\nDate: Tue, 01 Dec 2026 10:00:00 +0000\r\n"
            "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
            "Content-Transfer-Encoding: 8bit\r\n\r\n"
            % (ALICE, ", ".join(to), mark, mark)).encode() + body


def submit(a, mark, to, body=None):
    msg = message(mark, to) if body is None else message(mark, to, body)
    s = th.smtp_submission(a.submission_port, ALICE, th.PASSWORD)
    try:
        assert s.sendmail(ALICE, to, msg, mail_options=["BODY=8BITMIME"]) == {}
    finally:
        s.quit()
    return msg


def maildir(postfix, address, mark, needle=None):
    """The file virtual(8) delivered to address's Maildir that holds the
    mark and `needle` (by default the Message-ID of message()), once it
    is there, in the CRLF form."""
    folder = os.path.join(postfix.top, "mail", "p.test", address.split("@")[0], "new")
    if needle is None:
        needle = b"Message-ID: <%s@a.test>" % mark.encode()

    def find():
        try:
            names = os.listdir(folder)
        except FileNotFoundError:
            return None
        for name in names:
            with open(os.path.join(folder, name), "rb") as f:
                data = f.read()
            if needle in data and mark.encode() in data:
                return data
        return None
    found = th.wait_for(find, timeout=th.TIMEOUT)
    assert found, "%s never arrived for %s; Postfix's log:\n%s" % (mark, address,
                                                                    postfix.maillog()[-3000:])
    assert b"\r" not in found       # a Maildir holds LF line ends
    return found.replace(b"\n", b"\r\n")


def postfix_queue_ids(postfix, mark):
    """The queue ids under which Postfix's cleanup took the message."""
    return re.findall(r" ([0-9A-F]{6,}): message-id=<%s@a.test>" % mark, postfix.maillog())


def test_relayed_by_mx_signed_over_starttls(peers):
    a, postfix, port = peers
    mark = marker()
    sent = submit(a, mark, [USER])
    stored = maildir(postfix, USER, mark)
    head, body = stored.split(b"\r\n\r\n", 1)
    assert body == sent.split(b"\r\n\r\n", 1)[1]
    # virtual(8)'s lines, then Postfix's Received
    assert stored.startswith(b"Return-Path: <%s>\r\nX-Original-To: %s\r\nDelivered-To: %s\r\n"
                             b"Received: " % (ALICE.encode(), USER.encode(), USER.encode())), head
    received = header_fields(stored, b"Received")
    assert len(received) == 2, received
    # Postfix's: from A (its EHLO and address), over TLS, as ESMTPS
    assert received[0].startswith(b"Received: from mx.a.test (unknown [%s])" % TERN_IP.encode()), \
        received[0]
    assert re.search(rb"\(using TLSv1\.[23] with cipher \S+", received[0]), received[0]
    assert b"by mx.p.test (Postfix) with ESMTPS id " in received[0], received[0]
    assert re.search(r"Anonymous TLS connection established from unknown\[%s\]: TLSv1\.[23]"
                     % re.escape(TERN_IP), postfix.maillog())
    # A's: the submission
    assert b"by mx.a.test" in received[1] and b"with ESMTPSA" in received[1], received[1]
    # signed by A, verified after Postfix's delivery: nothing altered
    assert dkim.DKIM(stored).verify(dnsfunc=dig_txt(port)), header_fields(stored, b"DKIM-Signature")
    a.wait_queue(lambda o: o.startswith("the queue is empty"))


def big_body(size):
    """About `size` octets of 8-bit text, every third line beginning
    with a dot (one of them a lone dot), CRLF throughout."""
    lines, total, i = [], 0, 0
    while total < size:
        text = "%06d Grüße, čaša, ½ — the quick brown fox %s" % (i, "x" * (i % 40))
        if i % 3 == 0:
            text = "." + text
        if i == 1000:
            text = "."
        line = text.encode() + b"\r\n"
        lines.append(line)
        total += len(line)
        i += 1
    return b"".join(lines)


def test_two_megabytes_8bit_leading_dots(peers):
    """Byte for byte after Postfix's delivery; Postfix offers CHUNKING,
    so A's client sends BDAT (its log names the stage of the reply)."""
    a, postfix, port = peers
    mark = marker()
    body = big_body(2 * 1024 * 1024)
    submit(a, mark, [USER], body)
    stored = maildir(postfix, USER, mark)
    assert stored.split(b"\r\n\r\n", 1)[1] == body
    assert dkim.DKIM(stored).verify(dnsfunc=dig_txt(port))
    log = a.servers[-1].stderr_text()
    delivered_line = [l for l in log.splitlines() if "rcpt=" + USER in l and
                      "status=delivered" in l][-1]
    assert 'stage="BDAT LAST"' in delivered_line, delivered_line


def test_two_recipients_one_transaction(peers):
    a, postfix, _ = peers
    mark = marker()
    submit(a, mark, [USER, USER2])
    first, second = maildir(postfix, USER, mark), maildir(postfix, USER2, mark)
    # the same copy but for virtual(8)'s X-Original-To and Delivered-To
    assert first.split(b"\r\nReceived: ", 1)[1] == second.split(b"\r\nReceived: ", 1)[1]
    qid, = postfix_queue_ids(postfix, mark)
    assert re.search(r" %s: from=<%s>, size=\d+, nrcpt=2 " % (qid, re.escape(ALICE)),
                     postfix.maillog()), postfix.maillog()[-3000:]


def reports_for(a, mark):
    """The reports in Alice's INBOX about the message marked `mark`."""
    p = th.pop_stls_retry(a.pop3_port, ALICE, th.PASSWORD)
    try:
        return [m for m in th.retr_all(p) if b"multipart/report" in m and mark.encode() in m]
    finally:
        p.quit()


def dsn_for(a, mark):
    """The first report in Alice's INBOX about the message marked
    `mark`, parsed, once there is one."""
    found = th.wait_for(lambda: reports_for(a, mark))
    assert found, "no report for %s" % mark
    return email.message_from_bytes(found[0], policy=email.policy.compat32)


def test_unknown_user_at_postfix_bounces(peers):
    a, _, _ = peers
    mark = marker()
    submit(a, mark, ["nobody@p.test"])
    report = dsn_for(a, mark)
    status = report.get_payload()[1].get_payload()
    rcpt = status[1]
    assert rcpt["Action"] == "failed" and rcpt["Status"] == "5.1.1", str(rcpt)
    assert rcpt["Remote-MTA"] == "dns; mx.p.test", str(rcpt)
    diagnostic = " ".join(rcpt["Diagnostic-Code"].split())
    assert diagnostic == ("smtp; 550 5.1.1 <nobody@p.test>: Recipient address rejected: "
                          "User unknown in virtual mailbox table"), diagnostic
    a.wait_queue(lambda o: "nobody@p.test" not in o)


def no_outbound_session(a):
    """A holds no outbound connection: each smtp-out session's "connected"
    line has its "disconnect"."""
    lines = [l for l in a.servers[-1].stderr_text().splitlines() if " smtp-out " in l]
    return (sum('msg="connected"' in l for l in lines) ==
            sum('msg="disconnect"' in l for l in lines))


def test_temporary_refusal_stays_queued_until_flushed(peers):
    """Postfix answers 451 at RCPT: deferred with that answer, which
    `tern queue list` shows as mx.p.test's; the
    access entry removed (and Postfix reloaded), `tern queue flush`
    delivers it (the retry is an hour away)."""
    a, postfix, _ = peers
    mark = marker()
    try:
        submit(a, mark, [LATER])
        out = a.wait_queue(lambda o: "deferred  remote %s  tries 1, next in" % LATER in o)
        line, = [l for l in out.splitlines() if LATER in l]
        # named as Postfix's mailq names the server that answered
        assert line.endswith(": host mx.p.test said: 451 4.7.1 <%s>: Recipient address"
                             " rejected: Try again later (e2e)" % LATER), line
    finally:
        write(postfix, "access", "")
        postfix.run(POSTFIX, "reload")
    assert th.wait_for(lambda: smtp_answers(POSTFIX_IP, LATER)), postfix.maillog()[-3000:]
    # the connection A keeps idle ([queue] connection_cache_time) goes to
    # an smtpd of before the reload, which still refuses: its end first
    assert th.wait_for(lambda: no_outbound_session(a))
    assert a.cmd("queue", "flush").stdout == \
        "flushed the queue: 1 deferred recipient to try now\n"
    maildir(postfix, LATER, mark)
    a.wait_queue(lambda o: o.startswith("the queue is empty"))


def postfix_sendmail(postfix, mark, to):
    """Inject a message from SENDER with Postfix's sendmail."""
    msg = ("From: <%s>\nTo: <%s>\nSubject: %s\nMessage-ID: <%s@p.test>\n"
           "Date: Tue, 01 Dec 2026 10:00:00 +0000\n\nFrom Postfix's queue.\n.a leading dot\n"
           % (SENDER, to, mark, mark)).encode()
    postfix.run(SENDMAIL, "-i", "-f", SENDER, to, input=msg)


def test_postfix_relays_to_tern(peers):
    """Through Postfix's queue (transport_maps) to A's port 25 over
    opportunistic STARTTLS."""
    a, postfix, _ = peers
    mark = marker()
    postfix_sendmail(postfix, mark, ALICE)
    stored, = delivered(a, mark, ALICE, th.PASSWORD)
    rp, received, rest = th.smtp_trace(stored)
    assert rp == b"Return-Path: <%s>" % SENDER.encode()
    assert received.startswith(b"Received: from mx.p.test ([%s])" % POSTFIX_IP.encode()), received
    assert b"by mx.a.test" in received and b"with ESMTPS id " in received, received
    assert re.search(rb"\(using TLSv1\.[23] with cipher \S+\)", received), received
    assert rest.startswith(b"Received: by mx.p.test (Postfix, from userid 0)"), rest[:300]
    assert stored.endswith(b"\r\n\r\nFrom Postfix's queue.\r\n.a leading dot\r\n")
    assert re.search(r"to=<%s>, relay=%s\[%s\]:25, .*status=sent" % (
        re.escape(ALICE), TERN_IP, TERN_IP), postfix.maillog())


def test_unknown_tern_user_is_postfixs_bounce(peers):
    """tern refuses the RCPT (550 5.1.1); Postfix bounces to its sender."""
    _, postfix, _ = peers
    mark = marker()
    postfix_sendmail(postfix, mark, "nobody@a.test")
    bounce = maildir(postfix, SENDER, mark, b"Undelivered Mail Returned to Sender")
    assert b"\r\nFrom: Mail Delivery System <MAILER-DAEMON@p.test>\r\n" in bounce, bounce[:2000]
    assert b"\r\nStatus: 5.1.1\r\nRemote-MTA: dns; %s\r\nDiagnostic-Code: smtp; 550 5.1.1 " \
        % TERN_IP.encode() in bounce, bounce[:3000]
    assert re.search(r"to=<nobody@a\.test>, relay=%s\[%s\]:25, .*status=bounced \(host %s\[%s\] "
                     r"said: 550 5\.1\.1 " % ((re.escape(TERN_IP),) * 4), postfix.maillog()), \
        postfix.maillog()[-3000:]


def test_postfix_satellite_with_auth(peers):
    """Postfix sends sat.test to A's submission port: STARTTLS, AUTH as
    alice; A takes it as hers (ESMTPSA) and signs it for a.test."""
    a, postfix, port = peers
    mark = marker()
    msg = ("From: Alice <%s>\nTo: <%s>\nSubject: %s\nMessage-ID: <%s@a.test>\n"
           "Date: Tue, 01 Dec 2026 10:00:00 +0000\n\nFrom the satellite.\n"
           % (ALICE, CAROL, mark, mark)).encode()
    postfix.run(SENDMAIL, "-i", "-f", ALICE, CAROL, input=msg)
    stored, = delivered(a, mark, CAROL, th.PASSWORD)
    received = header_fields(stored, b"Received")
    assert b"from mx.p.test" in received[0] and b"with ESMTPSA " in received[0], received[0]
    assert dkim.DKIM(stored).verify(dnsfunc=dig_txt(port)), header_fields(stored, b"DKIM-Signature")
    log = postfix.maillog()
    assert "TLS connection established to 127.0.0.1[127.0.0.1]:%d: TLSv1." % a.submission_port \
        in log, log[-3000:]
    assert re.search(r"to=<%s>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:%d, .*status=sent"
                     % (re.escape(CAROL), a.submission_port), log), log[-3000:]
    # A's log: the session from Postfix logged in as alice over TLS
    assert re.search(r' submission sid=\w+ remote=%s msg="login" user="%s" tls=yes'
                     % (POSTFIX_IP, re.escape(ALICE)), a.servers[-1].stderr_text())


def test_dsn_request_passed_on_and_answered(peers):
    """NOTIFY=SUCCESS, ORCPT and ENVID (xtext with an encoded "=") go on
    to Postfix, which offers DSN; its "delivered" report comes back
    through its queue to A's port 25, in Alice's INBOX."""
    a, postfix, _ = peers
    mark = marker()
    envid = "env=" + mark
    s = th.smtp_submission(a.submission_port, ALICE, th.PASSWORD)
    try:
        s.mail(ALICE, ["ENVID=env+3D" + mark, "RET=HDRS", "BODY=8BITMIME"])
        assert s.rcpt(USER, ["NOTIFY=SUCCESS", "ORCPT=rfc822;" + USER])[0] == 250
        assert s.data(message(mark, [USER]))[0] == 250
    finally:
        s.quit()
    maildir(postfix, USER, mark)
    report = dsn_for(a, mark)
    # Postfix's, and the only one: A passed the request on and makes no
    # report of its own (RFC 3461 5.2.1; it made a "delivered" one)
    assert report["From"] == "Mail Delivery System <MAILER-DAEMON@p.test>", report["From"]
    assert len(reports_for(a, mark)) == 1
    per_msg, rcpt = report.get_payload()[1].get_payload()[:2]
    assert per_msg["Original-Envelope-Id"] == envid, str(per_msg)
    assert rcpt["Action"] == "delivered" and rcpt["Status"] == "2.0.0", str(rcpt)
    assert rcpt["Original-Recipient"] == "rfc822;" + USER, str(rcpt)



def test_too_many_recipients_split(peers):
    """Postfix takes two RCPTs per transaction (smtpd_recipient_limit):
    its 452 to the third has A send that one in a second transaction on
    the same connection (RFC 5321 4.5.3.1.10)."""
    a, postfix, _ = peers
    mark = marker()
    submit(a, mark, [USER, USER2, SENDER])
    for address in (USER, USER2, SENDER):
        maildir(postfix, address, mark)
    log = postfix.maillog()
    qids = postfix_queue_ids(postfix, mark)
    counts = sorted(re.search(r" %s: from=<[^>]*>, size=\d+, nrcpt=(\d+) " % q, log).group(1)
                    for q in qids)
    assert counts == ["1", "2"], log[-3000:]
    # A's results for the three: each the reply to one of the two, all
    # in one session
    lines = [l for l in a.servers[-1].stderr_text().splitlines()
             if " status=delivered " in l and any('queued as %s"' % q in l for q in qids)]
    assert len(lines) == 3, lines
    assert len({re.search(r" sid=(\w+) ", l).group(1) for l in lines}) == 1, lines


def test_over_postfixs_size_bounces(peers):
    """Postfix announces SIZE 3145728 (message_size_limit): A sends no
    4 MB message to it but reports the failure at once."""
    a, postfix, _ = peers
    mark = marker()
    submit(a, mark, [USER], big_body(4 * 1024 * 1024))
    rcpt = dsn_for(a, mark).get_payload()[1].get_payload()[1]
    assert rcpt["Action"] == "failed" and rcpt["Status"] == "5.3.4", str(rcpt)
    assert "message too big for the server" in rcpt["Diagnostic-Code"], str(rcpt)
    assert postfix_queue_ids(postfix, mark) == []
    a.wait_queue(lambda o: o.startswith("the queue is empty"))


def test_smtputf8(peers):
    """A message submitted with SMTPUTF8 goes on with it (Postfix's
    Received says UTF8SMTPS), its UTF-8 header as written."""
    a, postfix, _ = peers
    mark = marker()
    msg = ("From: Alice <%s>\r\nTo: %s\r\nSubject: %s Grüße\r\n"
           "Message-ID: <%s@a.test>\r\nDate: Tue, 01 Dec 2026 10:00:00 +0000\r\n\r\nHello.\r\n"
           % (ALICE, USER, mark, mark)).encode()
    s = th.smtp_submission(a.submission_port, ALICE, th.PASSWORD)
    try:
        assert s.mail(ALICE, ["SMTPUTF8", "BODY=8BITMIME"])[0] == 250
        assert s.rcpt(USER)[0] == 250
        assert s.data(msg)[0] == 250
    finally:
        s.quit()
    stored = maildir(postfix, USER, mark)
    assert b"by mx.p.test (Postfix) with UTF8SMTPS id " in header_fields(stored, b"Received")[0]
    assert stored.endswith(b"\r\n" + msg)



def test_postfix_relays_smtputf8_to_tern(peers):
    """A UTF-8 header from sendmail: Postfix asks for SMTPUTF8
    (smtputf8_autodetect_classes), tern's Received says UTF8SMTPS."""
    a, postfix, _ = peers
    mark = marker()
    msg = ("From: <%s>\nTo: <%s>\nSubject: %s Grüße\nMessage-ID: <%s@p.test>\n"
           "Date: Tue, 01 Dec 2026 10:00:00 +0000\n\nFrom Postfix's queue, Grüße.\n"
           % (SENDER, ALICE, mark, mark)).encode()
    postfix.run(SENDMAIL, "-i", "-f", SENDER, ALICE, input=msg)
    stored, = delivered(a, mark, ALICE, th.PASSWORD)
    received = th.smtp_trace(stored)[1]
    assert b"by mx.a.test (tern) with UTF8SMTPS id " in received, received
    assert stored.endswith(b"\r\n" + msg.replace(b"\n", b"\r\n"))
