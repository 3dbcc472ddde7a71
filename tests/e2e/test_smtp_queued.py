# test_smtp_queued - mail to other domains from an authenticated
# submission user: accepted, its local copies delivered at once, and the
# message kept in the queue for the non-local recipients (the harness's
# relayhost is a closed port: they are tried and deferred), where `tern
# queue list` shows every recipient's state; the mailboxes share the
# queue's file; a restart keeps it deferred and delivers nothing twice.
# A queue.db that refuses a message's row still lets its 250 go out, and
# the message is delivered once queue.db takes rows again.
import os
import uuid

import pytest

import tern_harness as th

REMOTE = ["friend@remote.example", "other@far.example"]


@pytest.fixture(scope="module")
def srv():
    with th.smtp_tern() as t:
        t.start()
        yield t


def test_remote_stays_queued_local_delivered(srv):
    mark = "q-" + uuid.uuid4().hex[:12]
    msg = th.crlf(th.make_message(0, subject=mark))
    s = th.smtp_submission(srv.submission_port)
    code, _ = s.mail(th.USER)
    assert code == 250
    for rcpt in [REMOTE[0], th.USER2, REMOTE[1], th.USER]:
        assert s.rcpt(rcpt)[0] == 250, rcpt
    code, text = s.data(msg)
    s.quit()
    assert code == 250 and text.startswith(b"2.0.0 Ok: queued as "), text
    ident = text.split()[-1].decode()

    expected = {th.USER: ("delivered", "local"), th.USER2: ("delivered", "local"),
                REMOTE[0]: ("deferred", "remote"), REMOTE[1]: ("deferred", "remote")}
    listing = srv.wait_queue(lambda out: th.queue_entries(out).get(ident) == expected)
    line = next(l for l in listing.splitlines() if l.startswith(ident))
    assert line.endswith("  <%s>" % th.USER), line

    def local_copies():
        return {user: th.inbox_by_message_id(srv.pop3_port, user, password).get("msg-0@example.org", [])
                for user, password in ((th.USER, th.PASSWORD), (th.USER2, th.PASSWORD2))}
    copies = local_copies()
    assert [len(c) for c in copies.values()] == [1, 1], copies
    stored = copies[th.USER2][0]
    rp, received, rest = th.smtp_trace(stored)
    assert rp == b"Return-Path: <%s>" % th.USER.encode()
    assert b"with ESMTPSA id %s" % ident.encode() in received and b"for <" not in received
    assert rest == msg
    assert line.split()[1] == str(len(stored)), line
    # One file: the queue's, linked into both mailboxes.
    path = os.path.join(srv.data_dir, "queue", "msg", ident)
    with open(path, "rb") as f:
        assert f.read() == stored
    assert os.stat(path).st_nlink == 3

    # A restart keeps it deferred for the remote recipients and delivers
    # nothing again.
    srv.servers[-1].terminate()
    srv.start()
    assert th.queue_entries(srv.queue_list())[ident] == expected
    assert local_copies() == copies


REFUSE_ROWS = """
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], timeout=10)
if sys.argv[2] == "on":
    db.execute("CREATE TRIGGER t_refuse BEFORE INSERT ON messages"
               " BEGIN SELECT RAISE(ABORT, 'refused by the test'); END")
else:
    db.execute("DROP TRIGGER t_refuse")
db.commit()
db.close()
"""


def test_queue_db_refusing_rows(srv):
    """The 250 waits for the message's file, not for its queue.db row: a
    queue.db that refuses the row (in life a full disk) still gets the
    client its 250, and the message reaches the mailbox once queue.db
    takes rows again, with no other message to carry it."""
    db = os.path.join(srv.data_dir, "queue", "queue.db")
    th.as_server_user(REFUSE_ROWS, db, "on")
    try:
        mark = "refused-" + uuid.uuid4().hex[:12]
        s = th.smtp_submission(srv.submission_port)
        assert s.mail(th.USER)[0] == 250
        assert s.rcpt(th.USER2)[0] == 250
        code, text = s.data(th.crlf(th.make_message(1, subject=mark)))
        s.quit()
        assert code == 250 and text.startswith(b"2.0.0 Ok: queued as "), text
        assert th.wait_for(lambda: "cannot index queued messages" in srv.servers[-1].stderr_text())
        assert "msg-1@example.org" not in th.inbox_by_message_id(srv.pop3_port, th.USER2,
                                                                 th.PASSWORD2)
    finally:
        th.as_server_user(REFUSE_ROWS, db, "off")
    assert th.wait_for(lambda: len(th.inbox_by_message_id(srv.pop3_port, th.USER2, th.PASSWORD2)
                                   .get("msg-1@example.org", [])) == 1)
