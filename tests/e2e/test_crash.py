# test_crash - kill -9 at bad moments (DESIGN 5, durability rule): an import
# killed midway keeps every message it reported, a server killed during
# DELE+QUIT and a download restarts with a consistent store.
import subprocess
import time

import tern_harness as th


def test_import_killed_keeps_every_reported_message(pop3_server):
    tern, srv = pop3_server
    msgs = [th.make_message(i, extra_lines=700) for i in range(1, 301)]  # ~50 KB each
    stored = [th.crlf(m) for m in msgs]
    path = tern.write_mbox(msgs)
    proc = tern.popen("import", "mbox", th.USER, path,
                      stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    reported = 0
    t0 = time.monotonic()
    while reported < 25 and time.monotonic() - t0 < th.TIMEOUT * 4:
        line = proc.stdout.readline()
        if not line:
            break
        if th.is_imported_line(line):
            reported += 1
    proc.kill()
    proc.wait()
    proc.stdout.close()
    err = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    assert not th.sanitizer_lines(err), err
    assert reported > 0, err

    p = th.pop_ssl_retry(srv.pop3s_port)
    count, size = p.stat()
    print("import killed after %d reported, %d stored of %d" % (reported, count, len(msgs)))
    assert count >= reported
    got = th.retr_all(p)
    assert len(got) == count
    assert size == sum(map(len, got))
    # every reported message is there byte for byte, nothing else, no duplicate
    assert len(set(got)) == len(got)
    assert set(stored[:reported]) <= set(got)
    assert set(got) <= set(stored)
    _, lines, _ = p.list()
    assert [int(l.split()[1]) for l in lines] == [len(m) for m in got]
    uids = th.uidl_map(p)
    p.quit()

    # the store still takes new mail after the crash
    more = tern.import_mbox(th.USER, [th.make_message(1001), th.make_message(1002)])
    p = th.pop_ssl_retry(srv.pop3s_port)
    assert p.stat()[0] == count + 2
    after = th.retr_all(p)
    assert after[:count] == got and sorted(after[count:]) == sorted(more)
    assert {k: v for k, v in th.uidl_map(p).items() if k <= count} == uids
    p.quit()


def test_server_killed_during_dele_quit_and_download(tern_env):
    tern = tern_env
    srv = tern.start()
    msgs = [th.make_message(i, extra_lines=5) for i in range(1, 13)]
    stored = tern.import_mbox(th.USER, msgs)
    big = tern.import_mbox(th.USER2, [th.big_message(2, 4 * 1024 * 1024)])[0]
    p = th.pop_ssl(srv.pop3s_port)
    uid_of = {m: u for m, u in zip(th.retr_all(p), th.uidl_map(p).values())}
    p.quit()
    assert set(uid_of) == set(stored)

    gone = set()       # messages whose deletion was acknowledged
    maybe_gone = set()  # messages marked for deletion when the server died
    for delay in (0.0, 0.003, 0.02):
        p = th.pop_ssl_retry(srv.pop3s_port)
        current = th.retr_all(p)
        victims = current[:2]
        for i in (1, 2):
            p.dele(i)
        downloader = th.Raw(srv.pop3s_port, tls=True)
        downloader.readline()
        downloader.login(th.USER2, th.PASSWORD2)
        downloader.send(b"RETR 1\r\n")
        downloader.sock.recv(65536)
        p._putcmd("QUIT")
        if delay:
            time.sleep(delay)
        srv.kill9()
        maybe_gone.update(victims)
        try:
            p.sock.settimeout(2)
            acked = p._getresp().startswith(b"+OK")
        except Exception:
            acked = False
        if acked:
            gone.update(victims)
        p.close()
        downloader.close()

        srv = tern.start()
        p = th.pop_ssl_retry(srv.pop3s_port)
        count, size = p.stat()
        have = th.retr_all(p)
        assert len(have) == count and size == sum(map(len, have))
        assert len(set(have)) == len(have)
        assert set(have) <= set(stored)
        assert not (set(have) & gone), "acknowledged deletion came back"
        assert set(stored) - maybe_gone <= set(have), "a message nobody deleted is lost"
        _, lines, _ = p.list()
        assert [int(l.split()[1]) for l in lines] == [len(m) for m in have]
        # unique ids survive the crash
        assert list(th.uidl_map(p).values()) == [uid_of[m] for m in have]
        p.quit()
        q = th.pop_ssl_retry(srv.pop3s_port, th.USER2, th.PASSWORD2)
        assert q.stat() == (1, len(big))
        assert th.retr_all(q) == [big]
        q.quit()
