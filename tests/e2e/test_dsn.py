# test_dsn - Delivery Status Notifications as a sender sees them in its
# INBOX (read by POP3, parsed by Python's email package as a mail client
# would): NOTIFY=SUCCESS with ORCPT and ENVID through smtplib gives a
# "delivered" report (RFC 3461 5.2.3); a mailbox over its quota gives one
# delay warning, then the bounce when the (short) lifetime ends; mail
# from <> and NOTIFY=NEVER get none. swaks (20201014 in Debian 12) has no
# option for DSN parameters, hence smtplib's rcpt_options. And SRS: a
# bounce to an address made with DATA/srs.key (computed here from the
# scheme, independently of tern's code) is taken from anyone and queued
# for the address it was made from; a forged one is refused.
import email
import email.policy
import hashlib
import hmac
import os
import smtplib
import time
import uuid

import pytest

import tern_harness as th



@pytest.fixture(scope="module")
def srv():
    with th.smtp_tern({"auth.allow_plaintext_loopback": "yes",
                       "queue.retry_first": "1", "queue.retry_max": "1",
                       "queue.delay_warning": "1", "queue.lifetime": "3"}) as t:
        t.cmd("user", "add", "tiny@localhost", "--quota", "100", input=th.PASSWORD + "\n")
        t.start()
        yield t


def marker():
    return "m-" + uuid.uuid4().hex[:12]


def message(mark, to):
    return ("From: Demo <%s>\r\nTo: <%s>\r\nSubject: %s\r\n"
            "Message-ID: <%s@localhost>\r\n\r\nHello.\r\n" % (th.USER, to, mark, mark)).encode()


def reports(srv, mark, count):
    """The reports in demo@'s INBOX that carry `mark` (in the returned
    header), parsed; waits for `count`."""
    def find():
        p = th.pop_stls_retry(srv.pop3_port, th.USER, th.PASSWORD)
        try:
            found = [m for m in th.retr_all(p) if mark.encode() in m and b"multipart/report" in m]
        finally:
            p.quit()
        return found if len(found) >= count else None
    found = th.wait_for(find, timeout=th.TIMEOUT)
    assert found, "no report for %s" % mark
    # the envelope sender of a report is <>
    assert all(m.startswith(b"Return-Path: <>\r\n") for m in found)
    return [email.message_from_bytes(m, policy=email.policy.compat32) for m in found]


def parts(report):
    """(text, [per-message fields, per-recipient fields...], returned)."""
    assert report.get_content_type() == "multipart/report"
    assert report.get_param("report-type") == "delivery-status"
    text, status, returned = report.get_payload()
    assert status.get_content_type() == "message/delivery-status"
    return text, status.get_payload(), returned


def send(srv, sender, to, msg, mail_options=(), rcpt_options=()):
    """One message through smtplib, without SIZE= (the small mailbox's
    quota would refuse it at RCPT, and the test wants it queued)."""
    s = smtplib.SMTP("127.0.0.1", srv.smtp_port, timeout=th.TIMEOUT)
    try:
        s.ehlo("client.example")
        assert "dsn" in s.esmtp_features
        assert s.mail(sender, list(mail_options))[0] == 250
        assert s.rcpt(to, list(rcpt_options))[0] == 250
        assert s.data(msg)[0] == 250
    finally:
        s.quit()


def test_notify_success_delivered(srv):
    mark = marker()
    send(srv, th.USER, th.USER2, message(mark, th.USER2),
         mail_options=["RET=FULL", "ENVID=QQ-" + mark],
         rcpt_options=["NOTIFY=SUCCESS", "ORCPT=rfc822;Demo2@localhost"])
    report, = reports(srv, mark, 1)
    assert report["From"].startswith("Mail Delivery System <MAILER-DAEMON@")
    assert report["Auto-Submitted"] == "auto-replied"
    assert report["Subject"] == "Successful Mail Delivery Report"
    text, fields, returned = parts(report)
    assert fields[0]["Original-Envelope-Id"] == "QQ-" + mark
    assert fields[0]["Reporting-MTA"].startswith("dns; ")
    assert fields[0]["Arrival-Date"]
    rcpt = fields[1]
    assert rcpt["Original-Recipient"] == "rfc822;Demo2@localhost"
    assert rcpt["Final-Recipient"] == "rfc822; %s" % th.USER2
    assert rcpt["Action"] == "delivered"
    assert rcpt["Status"] == "2.0.0"
    # a success returns the header alone (RFC 3461 4.3)
    assert returned.get_content_type() == "text/rfc822-headers"
    assert mark in returned.get_payload() and "Hello." not in returned.get_payload()


def test_delay_warning_then_bounce(srv):
    mark = marker()
    send(srv, th.USER, "tiny@localhost", message(mark, "tiny@localhost") + b"x" * 200 + b"\r\n")
    delayed, failed = reports(srv, mark, 2)
    assert delayed["Subject"] == "Delayed Mail (still being retried)"
    _, fields, returned = parts(delayed)
    assert fields[1]["Action"] == "delayed" and fields[1]["Status"] == "4.2.2"
    assert fields[1]["Will-Retry-Until"]
    assert returned.get_content_type() == "text/rfc822-headers"
    assert failed["Subject"] == "Undelivered Mail Returned to Sender"
    _, fields, returned = parts(failed)
    assert fields[1]["Action"] == "failed" and fields[1]["Status"] == "4.2.2"
    assert "mailbox over quota" in fields[1]["Diagnostic-Code"]
    # no RET: the whole message comes back with a failure
    assert returned.get_content_type() == "message/rfc822"
    assert b"x" * 200 in returned.as_bytes()
    # and the message has left the queue
    assert th.wait_for(lambda: "tiny@localhost" not in srv.cmd("queue", "list").stdout)


def test_no_report_for_null_sender_or_never(srv):
    mark = marker()
    send(srv, "", "tiny@localhost", message(mark, "tiny@localhost") + b"y" * 200 + b"\r\n")
    send(srv, th.USER, "tiny@localhost", message(mark, "tiny@localhost") + b"z" * 200 + b"\r\n",
         rcpt_options=["NOTIFY=NEVER"])
    # both expire (lifetime 3 s) and leave the queue without a report
    assert th.wait_for(lambda: "tiny@localhost" not in srv.cmd("queue", "list").stdout,
                       timeout=th.TIMEOUT)
    p = th.pop_stls_retry(srv.pop3_port, th.USER, th.PASSWORD)
    try:
        assert not [m for m in th.retr_all(p) if mark.encode() in m]
    finally:
        p.quit()


def srs0(key, local, domain, at, day=None):
    """SRS0=HHHHHH=TT=domain=local@at, as mail/mail-srs.h describes it."""
    day = (int(time.time()) // 86400 if day is None else day) % 1024
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    data = "%s%s=%s=%s" % (alphabet[day >> 5], alphabet[day & 31], domain, local)
    mac = hmac.new(key, data.lower().encode(), hashlib.sha256).digest()
    bits = int.from_bytes(mac[:4], "big")
    h = "".join(alphabet[(bits >> (27 - 5 * i)) & 31] for i in range(6))
    return "SRS0=%s=%s@%s" % (h, data, at)


def test_srs_bounce_goes_back(srv):
    path = os.path.join(srv.data_dir, "srs.key")
    assert os.stat(path).st_mode & 0o777 == 0o600
    key = bytes.fromhex(open(path).read().strip())
    hostname = srv.sets["server.hostname"]
    good = srs0(key, "orig", "remote.example", hostname)
    s = smtplib.SMTP("127.0.0.1", srv.smtp_port, timeout=th.TIMEOUT)
    try:
        s.ehlo("client.example")
        assert s.mail("")[0] == 250
        # ours: relayed back although this client may not relay
        code, _ = s.rcpt(good)
        assert code == 250
        # forged, too old, or another key's: unknown
        code, _ = s.rcpt(srs0(b"x" * 32, "orig", "remote.example", hostname))
        assert code == 550
        code, _ = s.rcpt(srs0(key, "orig", "remote.example", hostname,
                              day=int(time.time()) // 86400 - 30))
        assert code == 550
        assert s.data(b"Subject: bounce\r\n\r\nreturned\r\n")[0] == 250
    finally:
        s.quit()
    # the row follows the 250 (the committer indexes after answering)
    listing = srv.wait_queue(lambda o: "orig@remote.example" in o)
    assert th.queue_entries(listing)
