# test_smtp_load - 1,000 messages from 20 concurrent SMTP clients on port
# 25, to mixed recipients over six accounts (one to three per message, a
# sub-address, an alias that overlaps a direct recipient): every message
# gets its 250, and once the queue is empty each account's INBOX holds
# exactly the messages addressed to it, each exactly once and whole.
import random

import pytest

import tern_harness as th

ACCOUNTS = ["load%d@localhost" % i for i in range(6)]
# An alias to two of the accounts: a message to it and to one of them
# reaches that one once (the envelope holds each final recipient once).
PAIR = ("pair@localhost", ACCOUNTS[:2])
MESSAGES = 1000
CLIENTS = 20


@pytest.fixture(scope="module")
def srv():
    with th.smtp_tern(users=ACCOUNTS) as t:
        t.cmd("alias", "add", PAIR[0], ",".join(PAIR[1]))
        t.start()
        yield t


def jobs(count, seed):
    """[(key, sender, recipients as sent, accounts they reach, message)]."""
    rnd = random.Random(seed)
    out = []
    for i in range(count):
        accounts = rnd.sample(ACCOUNTS, rnd.choice((1, 1, 1, 2, 2, 3)))
        rcpts = list(accounts)
        reach = set(accounts)
        if rnd.random() < 0.1:
            # as a sub-address: delivered to the account itself
            rcpts[0] = rcpts[0].replace("@", "+tag%d@" % i)
        if rnd.random() < 0.1:
            rcpts.append(PAIR[0])
            reach |= set(PAIR[1])
        message = th.crlf(th.make_message(i, extra_lines=rnd.randrange(0, 40)))
        out.append(("msg-%d@example.org" % i, "sender%d@example.org" % i, rcpts, reach, message))
    return out


def test_thousand_messages_twenty_clients(srv):
    work = jobs(MESSAGES, seed=6)
    todo = iter(work)

    def next_job():
        job = next(todo, None)
        return job and (job[0], job[1], job[2], job[4])
    load = th.SmtpLoad(srv.smtp_port, next_job, CLIENTS).start()
    load.join(timeout=th.TIMEOUT * 8)
    assert not load.refused and not load.lost, (load.refused, load.lost)
    assert len(load.acked) == MESSAGES
    assert len(set(load.acked.values())) == MESSAGES, "a queue id given twice"
    srv.wait_queue(lambda out: out == "the queue is empty\n", timeout=th.TIMEOUT * 4)
    sent = {key: message for key, _, _, _, message in work}
    for account in ACCOUNTS:
        inbox = th.inbox_by_message_id(srv.pop3_port, account)
        expected = {key for key, _, _, reach, _ in work if account in reach}
        twice = sorted(k for k, copies in inbox.items() if len(copies) > 1)
        assert not twice, "%s got these more than once: %s" % (account, twice[:10])
        assert set(inbox) == expected, (account, sorted(set(inbox) ^ expected)[:10])
        for key, (stored,) in inbox.items():
            assert th.smtp_trace(stored)[2] == sent[key], key
