# test_smtp_pregreet - port 25's pregreet test with a real server: the
# greeting's first line at once, its last after [smtp] pregreet_delay; a
# client that talks before it is refused with 554 and logged; one that
# waited is remembered and greeted at once next time; submission never
# waits.
import time

import tern_harness as th


def test_pregreet(tern_factory):
    tern = tern_factory()
    tern.enable_smtp(pregreet=1)
    srv = tern.start()
    # A bot that does not wait for the server.
    c = th.RawSMTP(tern.smtp_port, greet=False)
    assert c.line() == "220-mail.test.example ESMTP tern"
    c.send("EHLO bot.example\r\n")
    assert c.line() == "554 5.5.1 mail.test.example Protocol error: talking before the greeting"
    assert c.is_closed()
    c.close()
    assert 'msg="pregreet" text="EHLO bot.example\\x0d\\x0a"' in srv.stderr_text()
    # A client that waits gets the rest of the greeting, and is served.
    t0 = time.monotonic()
    c = th.RawSMTP(tern.smtp_port, greet=False)
    assert c.line() == "220-mail.test.example ESMTP tern"
    assert c.line() == "220 mail.test.example ESMTP tern"
    assert time.monotonic() - t0 >= 0.9
    assert c.cmd("EHLO mx.example")[0] == 250
    c.cmd("QUIT")
    c.close()
    # Remembered: no wait the next time.
    t0 = time.monotonic()
    c = th.RawSMTP(tern.smtp_port, greet=False)
    assert c.line() == "220 mail.test.example ESMTP tern"
    assert time.monotonic() - t0 < 0.5
    c.close()
    # Submission clients are never tested.
    c = th.RawSMTP(tern.submission_port, greet=False)
    assert c.line() == "220 mail.test.example ESMTP tern"
    c.close()
