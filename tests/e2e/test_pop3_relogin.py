# A client that logs in again right after QUIT (polling clients, fetchmail
# run twice, a reconnect) must find the maildrop free: the lock is released
# before the +OK to QUIT, not some time after the connection closes.
import tern_harness as th


def session(port):
    c = th.Raw(port)
    greeting = c.readline()
    assert greeting.startswith(b"+OK"), greeting
    c.login()
    return c


def test_login_right_after_quit_is_never_in_use(tern_factory):
    tern = tern_factory({"auth.allow_plaintext_loopback": "yes"})
    tern.import_mbox(th.USER, [th.make_message(1)])
    srv = tern.start()
    for i in range(40):
        c = session(srv.pop3_port)
        expect = b"+OK 1 " if i <= 10 else b"+OK 0 "
        assert c.cmd(b"STAT").startswith(expect), "iteration %d" % i
        if i == 10:  # the deletion happens in QUIT, before its +OK
            assert c.cmd(b"DELE 1").startswith(b"+OK")
        assert c.cmd(b"QUIT").startswith(b"+OK"), "iteration %d" % i
        c.close()
