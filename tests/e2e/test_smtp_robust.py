# test_smtp_robust - what an attacker or a careless client does to the SMTP
# services, with a real server: a message or a BDAT chunk trickled below
# [limits] min_input_rate is cut while it trickles, and a message sent at
# a decent pace through the same limits is not.
import time

import tern_harness as th

SLOW_RATE = {"limits.slow_input_timeout": "1", "limits.min_input_rate": "50"}


def trickle_until_cut(c, seconds):
    """Send a byte every 0.2 s (5 bytes/s) until the server closes or
    `seconds` pass; returns whether it closed and what it said."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < seconds:
        try:
            c.send(b"y")
        except OSError:
            break
        time.sleep(0.2)
        if c.is_closed(timeout=0.01):
            break
    closed = c.is_closed(timeout=th.TIMEOUT)
    return closed, c.buf


def start_slow(tern_factory):
    tern = tern_factory(dict(SLOW_RATE))
    tern.enable_smtp()
    tern.start()
    return tern


def test_data_trickle_is_cut_while_it_trickles(tern_factory):
    """Each byte taken out of the buffer used to restart the block's clock,
    so DATA at 5 bytes a second against a rate of 50 was never cut."""
    tern = start_slow(tern_factory)
    for verbs in (("DATA",), ("BDAT 100000 LAST",)):
        c = th.RawSMTP(tern.smtp_port)
        assert c.cmd("EHLO client.example")[0] == 250
        assert c.cmd("MAIL FROM:<a@example.org>")[0] == 250
        assert c.cmd("RCPT TO:<%s>" % th.USER)[0] == 250
        t0 = time.monotonic()
        if verbs[0] == "DATA":
            assert c.cmd("DATA")[0] == 354
        else:
            c.send(verbs[0] + "\r\n")
        # Allowed: 1 s of grace plus 1 s per 50 bytes, about 1.3 s here.
        closed, said = trickle_until_cut(c, 6 * th.SLOW)
        assert closed, verbs
        assert b"421 4.4.2 mail.test.example Input too slow" in said, said
        assert time.monotonic() - t0 < 4 * th.SLOW, verbs
        c.close()


def test_message_at_a_decent_pace_is_not_cut(tern_factory):
    """100 bytes a second for 2.5 s: above the rate, past the grace."""
    tern = start_slow(tern_factory)
    c = th.RawSMTP(tern.smtp_port)
    assert c.cmd("EHLO client.example")[0] == 250
    assert c.cmd("MAIL FROM:<a@example.org>")[0] == 250
    assert c.cmd("RCPT TO:<%s>" % th.USER)[0] == 250
    assert c.cmd("DATA")[0] == 354
    c.send(b"Subject: slow but steady\r\n\r\n")
    for _ in range(25):
        c.send(b"x" * 8 + b"\r\n")
        time.sleep(0.1)
    code, _ = c.cmd(".")
    assert code == 250
    c.close()
