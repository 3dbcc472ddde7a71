# test_imap_idle_scale - many IMAP clients in IDLE (issue 8): 2,000 TLS
# connections of one account sit in IDLE holding no account handle (its
# index.db is not open once they have been idle a moment), and one
# delivery by SMTP reaches every one of them within a second. One asyncio
# client in this process holds them all.
import asyncio
import os
import resource
import smtplib
import time

import pytest

import tern_harness as th

CONNS = 2000
PARALLEL = 64                    # connections being set up at once
WAKE_SECONDS = 1.0 * th.SLOW


@pytest.fixture(scope="module")
def idle_tern():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = CONNS + 512
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))
    with th.imap_tern({"limits.connections_per_ip": str(CONNS + 50),
                       "server.account_linger": "1"},
                      smtp=True) as t:
        yield t


async def _open(port, ctx, conns):
    reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=ctx,
                                                   server_hostname="localhost")

    async def until(prefix):
        while True:
            line = await reader.readline()
            assert line, "server closed the connection"
            if line.startswith(prefix):
                return line

    await until(b"* OK")
    writer.write(b'a LOGIN "%s" "%s"\r\n' % (th.USER.encode(), th.PASSWORD.encode()))
    assert (await until(b"a ")).startswith(b"a OK")
    writer.write(b"b SELECT INBOX\r\n")
    assert (await until(b"b ")).startswith(b"b OK")
    writer.write(b"c IDLE\r\n")
    await until(b"+ ")
    conns.append((reader, writer))


async def _open_all(port, ctx, n):
    conns = []
    gate = asyncio.Semaphore(PARALLEL)

    async def one():
        async with gate:
            await asyncio.wait_for(_open(port, ctx, conns), th.TIMEOUT * 4)

    await asyncio.gather(*(one() for _ in range(n)))
    return conns


async def _woken(reader):
    """The first line that tells of a new message; the keepalive and
    anything else before it are skipped."""
    while True:
        line = await reader.readline()
        assert line, "server closed the connection"
        if line.endswith(b" EXISTS\r\n"):
            return time.monotonic()


async def _all(aws, timeout):
    return await asyncio.wait_for(asyncio.gather(*aws), timeout)


def _index_db_open(pid):
    """How many descriptors the server has on demo@'s index.db."""
    n = 0
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        if target.endswith("/mail/localhost/demo/index.db"):
            n += 1
    return n


def test_2000_tls_clients_in_idle_all_woken_by_one_delivery(idle_tern):
    t = idle_tern
    pid = t.server.proc.pid
    # the first login is the uncached one; every other is answered from
    # the verified-login cache at once
    th.imap_ssl(t.imaps_port).logout()
    loop = asyncio.new_event_loop()
    conns = []
    try:
        conns = loop.run_until_complete(_open_all(t.imaps_port, th.tls_client_context(), CONNS))
        assert len(conns) == CONNS
        # sessions in IDLE give the account back at once; it closes after
        # [server] account_linger (1 s), at the reaper's next round
        th.wait_for(lambda: _index_db_open(pid) == 0, timeout=th.TIMEOUT)
        waits = [loop.create_task(_woken(r)) for r, _ in conns]
        with smtplib.SMTP("127.0.0.1", t.smtp_port, timeout=th.TIMEOUT) as smtp:
            smtp.sendmail("sender@example.org", [th.USER], th.crlf(th.make_message(1)))
        sent = time.monotonic()
        done = loop.run_until_complete(_all(waits, th.TIMEOUT * 2))
        slowest = max(done) - sent
        assert slowest < WAKE_SECONDS, "the last of %d sessions heard of the delivery after %.2f s" % (
            CONNS, slowest)
        # and they go on: DONE ends IDLE on every one of them
        for _, w in conns:
            w.write(b"DONE\r\n")

        async def completed(reader):
            while True:
                line = await reader.readline()
                assert line, "server closed the connection"
                if line.startswith(b"c "):
                    return line

        ends = loop.run_until_complete(_all([completed(r) for r, _ in conns], th.TIMEOUT * 2))
        assert all(e.startswith(b"c OK") for e in ends)
    finally:
        for _, w in conns:
            w.close()
        loop.run_until_complete(asyncio.sleep(0.2))
        loop.close()
    assert t.server.proc.poll() is None
