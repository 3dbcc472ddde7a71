# test_relay_expiry - outbound mail that never gets through, as its
# sender sees it in the INBOX (read by POP3, parsed by Python's email
# package): tern with a lifetime of a few seconds, a retry every second
# and a delay warning after two, routed by the transport table to a
# server here that answers 451 to every RCPT (far.test) or to a closed
# port (closed.test). One "delayed" report, then one "failed" report
# with the server's last reply (or 4.4.7 when no server answered), RFC
# 3464's fields (Original-Envelope-Id, Original-Recipient, Remote-MTA,
# Diagnostic-Code) and RET=HDRS honoured, and the message gone from the
# queue; NOTIFY=NEVER and the null sender get none. The expiry survives
# a restart past the lifetime; and a failure recorded in queue.db without
# its report (as a kill -9 between the two leaves it) is reported once by
# the next start.
import email
import email.policy
import os
import smtplib
import socket
import socketserver
import threading
import time
import uuid

import pytest

import tern_harness as th

LIFETIME = 5


class Greylister(socketserver.StreamRequestHandler):
    """An SMTP server that takes no recipient: 451 4.7.1 to every RCPT."""

    def handle(self):
        self.wfile.write(b"220 far.test ESMTP\r\n")
        for line in self.rfile:
            verb = line[:4].upper()
            if verb in (b"EHLO", b"HELO"):
                self.wfile.write(b"250 far.test\r\n")
            elif verb in (b"MAIL", b"RSET", b"NOOP"):
                # a try is a MAIL: tern may make the next one over the
                # same connection ([queue] connection_cache_time)
                self.server.mails += verb == b"MAIL"
                self.wfile.write(b"250 2.0.0 ok\r\n")
            elif verb == b"RCPT":
                self.wfile.write(b"451 4.7.1 greylisted, come back later\r\n")
            elif verb == b"QUIT":
                self.wfile.write(b"221 2.0.0 bye\r\n")
                return
            else:
                self.wfile.write(b"503 5.5.1 no\r\n")


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    mails = 0


def closed_port():
    """A loopback port nothing listens on."""
    port = th.free_port()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    return port


@pytest.fixture(scope="module")
def srv():
    far = Server(("127.0.0.1", th.free_port()), Greylister)
    threading.Thread(target=far.serve_forever, args=(0.05,), daemon=True).start()
    sets = {"smtp.trusted_networks": "127.0.0.1",
            "queue.retry_first": "1", "queue.retry_max": "1",
            "queue.delay_warning": "2", "queue.lifetime": str(LIFETIME),
            "queue.transport": "far.test=127.0.0.1:%d closed.test=127.0.0.1:%d" %
                               (far.server_address[1], closed_port())}
    try:
        with th.smtp_tern(sets) as t:
            t.far = far
            t.start()
            yield t
    finally:
        far.shutdown()
        far.server_close()


def marker():
    return "x-" + uuid.uuid4().hex[:12]


def send(srv, sender, rcpts, mark, mail_options=()):
    """One message over port 25 (a trusted client may relay); rcpts:
    [(address, [RCPT parameters])]."""
    msg = ("From: <%s>\r\nTo: <%s>\r\nSubject: %s\r\nMessage-ID: <%s@localhost>\r\n\r\n"
           "the body %s\r\n" % (th.USER, rcpts[0][0], mark, mark, mark)).encode()
    s = smtplib.SMTP("127.0.0.1", srv.smtp_port, timeout=th.TIMEOUT)
    try:
        s.ehlo("client.example")
        assert s.mail(sender, list(mail_options))[0] == 250
        for address, options in rcpts:
            assert s.rcpt(address, list(options))[0] == 250
        assert s.data(msg)[0] == 250
    finally:
        s.quit()


def inbox_reports(srv, mark):
    p = th.pop_stls_retry(srv.pop3_port, th.USER, th.PASSWORD)
    try:
        return [m for m in th.retr_all(p) if mark.encode() in m and b"multipart/report" in m]
    finally:
        p.quit()


def reports(srv, mark, count):
    """The reports about `mark` in demo@'s INBOX, parsed, once there are
    `count` (and the message has left the queue: no more can come)."""
    found = th.wait_for(lambda: (lambda f: f if len(f) >= count else None)(
        inbox_reports(srv, mark)), timeout=th.TIMEOUT + LIFETIME)
    assert found, "no %d reports for %s" % (count, mark)
    assert th.wait_for(lambda: mark_gone(srv, mark))
    found = inbox_reports(srv, mark)
    assert len(found) == count, found
    assert all(m.startswith(b"Return-Path: <>\r\n") for m in found)
    return [email.message_from_bytes(m, policy=email.policy.compat32) for m in found]


def mark_gone(srv, mark):
    """The message (every recipient address holds its test's mark) has
    left the queue."""
    return mark not in srv.cmd("queue", "list").stdout


def parts(report):
    """([per-message fields, per-recipient fields...], returned part)."""
    assert report.get_content_type() == "multipart/report"
    assert report.get_param("report-type") == "delivery-status"
    _, status, returned = report.get_payload()
    assert status.get_content_type() == "message/delivery-status"
    return status.get_payload(), returned


def test_delay_warning_then_expiry_with_the_last_reply(srv):
    mark = marker()
    to = "%s@far.test" % mark
    before = srv.far.mails
    send(srv, th.USER, [(to, ["NOTIFY=DELAY,FAILURE", "ORCPT=rfc822;%s" % to.upper()])], mark,
         mail_options=["RET=HDRS", "ENVID=E-" + mark])
    delayed, failed = reports(srv, mark, 2)
    assert delayed["Subject"] == "Delayed Mail (still being retried)"
    fields, returned = parts(delayed)
    assert fields[0]["Original-Envelope-Id"] == "E-" + mark
    assert fields[1]["Action"] == "delayed" and fields[1]["Status"] == "4.7.1"
    assert fields[1]["Will-Retry-Until"]
    assert returned.get_content_type() == "text/rfc822-headers"

    assert failed["Subject"] == "Undelivered Mail Returned to Sender"
    fields, returned = parts(failed)
    assert fields[0]["Original-Envelope-Id"] == "E-" + mark
    assert fields[0]["Arrival-Date"]
    rcpt = fields[1]
    assert rcpt["Original-Recipient"] == "rfc822;%s" % to.upper()
    assert rcpt["Final-Recipient"] == "rfc822; %s" % to
    assert rcpt["Action"] == "failed"
    # the server's last answer, not a status tern made up
    assert rcpt["Status"] == "4.7.1"
    assert rcpt["Remote-MTA"] == "dns; 127.0.0.1"
    assert rcpt["Diagnostic-Code"] == "smtp; 451 4.7.1 greylisted, come back later"
    assert rcpt["Last-Attempt-Date"]
    # RET=HDRS: the header alone, even with a failure
    assert returned.get_content_type() == "text/rfc822-headers"
    assert mark in returned.get_payload() and "the body" not in returned.get_payload()
    # it was tried again and again until the lifetime ended
    assert srv.far.mails - before >= 3


def test_expiry_without_an_answer_never_and_null_sender(srv):
    mark = marker()
    told, never = "%s-a@closed.test" % mark, "%s-b@closed.test" % mark
    send(srv, th.USER, [(told, ["NOTIFY=FAILURE"]), (never, ["NOTIFY=NEVER"])], mark)
    send(srv, "", [("%s-c@closed.test" % mark, [])], mark)
    failed, = reports(srv, mark, 1)
    fields, returned = parts(failed)
    # one recipient in the report: NOTIFY=NEVER's is not
    assert len(fields) == 2, fields
    rcpt = fields[1]
    assert rcpt["Final-Recipient"] == "rfc822; %s" % told
    assert rcpt["Action"] == "failed"
    # RFC 3463 4.4.7: no server ever answered
    assert rcpt["Status"] == "4.4.7"
    assert rcpt["Diagnostic-Code"].startswith("X-tern; 127.0.0.1[127.0.0.1]: "), rcpt
    assert "connection refused" in rcpt["Diagnostic-Code"]
    # no RET: the whole message
    assert returned.get_content_type() == "message/rfc822"
    assert b"the body " + mark.encode() in returned.as_bytes()


def test_expiry_across_a_restart(srv):
    mark = marker()
    to = "%s@far.test" % mark
    send(srv, th.USER, [(to, ["NOTIFY=FAILURE"])], mark)
    srv.wait_queue(lambda o: "deferred  remote %s  tries " % to in o)
    srv.servers[-1].terminate()
    # the lifetime ends while no server runs
    time.sleep(LIFETIME)
    srv.start()
    failed, = reports(srv, mark, 1)
    fields, _ = parts(failed)
    assert fields[1]["Action"] == "failed" and fields[1]["Status"] == "4.7.1", fields[1]


RECORD_FAILURE = """
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
n = db.execute("UPDATE rcpts SET state = 'failed', reported = 0, status = '5.7.1',"
               " remote_mta = 'mx.far.test', remote = 1, last_error = ?"
               " WHERE address = ?", ("550 5.7.1 not from you", sys.argv[2])).rowcount
db.commit()
db.close()
sys.exit(0 if n == 1 else 1)
"""


def test_failure_recorded_without_its_report(srv):
    """The relay records a failure, then queues its report: a kill -9
    between leaves the failure unreported, which the next start reports
    (once) with what was recorded."""
    mark = marker()
    to = "%s@far.test" % mark
    send(srv, th.USER, [(to, ["NOTIFY=FAILURE"])], mark)
    srv.wait_queue(lambda o: "deferred  remote %s  tries " % to in o)
    srv.servers[-1].kill9()
    th.as_server_user(RECORD_FAILURE, os.path.join(srv.data_dir, "queue", "queue.db"), to)
    srv.start()
    failed, = reports(srv, mark, 1)
    fields, _ = parts(failed)
    rcpt = fields[1]
    assert rcpt["Action"] == "failed" and rcpt["Status"] == "5.7.1", rcpt
    assert rcpt["Remote-MTA"] == "dns; mx.far.test"
    assert rcpt["Diagnostic-Code"] == "smtp; 550 5.7.1 not from you"
