# test_data_folder - one `tern serve` per data folder (the flock on
# DATA/serve.lock, naming the running server's pid), and a server that
# refuses to start, rather than say "ready", when [server] user cannot
# write its data folder, but does start when the disk is merely full.
import os
import pwd
import subprocess

import pytest

import tern_harness as th


def serve_once(tern, sets=None):
    """Run `tern serve` that is expected to exit by itself."""
    return subprocess.run([th.TERN_BIN, "serve"] + tern.set_args(sets),
                          capture_output=True, text=True, timeout=th.TIMEOUT * 2)


def other_ports():
    return {"listen.pop3": "127.0.0.1:%d" % th.free_port(),
            "listen.pop3s": "127.0.0.1:%d" % th.free_port()}


def test_second_server_on_one_data_folder_is_refused(tern_env):
    tern = tern_env
    srv = tern.start()
    ports = other_ports()
    p = serve_once(tern, ports)
    assert p.returncode == 1, p.stderr
    assert "pid %d" % srv.proc.pid in p.stderr, p.stderr
    assert tern.data_dir in p.stderr, p.stderr
    assert len(p.stderr.strip().splitlines()) == 1, p.stderr
    assert 'msg="ready"' not in p.stderr
    # it gave up before binding its ports, and the first one serves on
    pop3, pop3s = (int(ports[k].rsplit(":", 1)[1]) for k in ("listen.pop3", "listen.pop3s"))
    with pytest.raises(ConnectionRefusedError):
        th.socket.create_connection(("127.0.0.1", pop3), timeout=th.TIMEOUT).close()
    pop = th.pop_ssl(srv.pop3s_port)
    assert pop.stat() == (0, 0)
    pop.quit()
    with open(os.path.join(tern.data_dir, "serve.lock")) as f:
        assert f.read() == "%d\n" % srv.proc.pid
    # once the first is gone, another may start
    rc, _ = srv.terminate()
    assert rc == 0
    tern.start(sets=ports)
    pop = th.pop_ssl(pop3s)
    assert pop.stat() == (0, 0)
    pop.quit()


def test_lock_goes_with_a_killed_server(tern_env):
    tern = tern_env
    srv = tern.start()
    srv.kill9()
    srv = tern.start()
    with open(os.path.join(tern.data_dir, "serve.lock")) as f:
        assert f.read() == "%d\n" % srv.proc.pid


@pytest.mark.skipif(not th.AS_ROOT, reason="needs root")
def test_lock_file_symlink_is_not_followed(tern_factory):
    """The data folder belongs to [server] user; root must not open (and
    truncate) whatever a symlink planted there points to."""
    tern = tern_factory(accounts=False)
    tern.make_data_dir()
    precious = os.path.join(tern.work_dir, "precious")
    with open(precious, "w") as f:
        f.write("keep me\n")
    os.symlink(precious, os.path.join(tern.data_dir, "serve.lock"))
    p = serve_once(tern)
    assert p.returncode == 1, p.stderr
    assert "serve.lock" in p.stderr, p.stderr
    with open(precious) as f:
        assert f.read() == "keep me\n"


@pytest.mark.skipif(not th.AS_ROOT, reason="needs root (the server drops to nobody)")
def test_serve_refuses_a_data_folder_its_user_cannot_write(tern_factory, root_only_dir):
    data = os.path.join(root_only_dir, "data")
    tern = tern_factory({"server.data_dir": data}, accounts=False)
    p = serve_once(tern)
    assert p.returncode == 1, p.stderr
    assert 'msg="ready"' not in p.stderr
    assert "data folder %s is not writable by user nobody" % data in p.stderr, p.stderr
    assert "Permission denied" in p.stderr, p.stderr


@pytest.mark.skipif(not th.AS_ROOT, reason="mounts a small tmpfs")
def test_server_restarts_on_a_full_disk():
    """A server restarted when its data folder's disk is full refused to
    start (it truncated serve.lock before writing its pid: "No space left
    on device") and, past that, could not open directory.db (SQLite had
    deleted -wal and -shm at the last close and had no room to make them
    again), so nobody could even log in to read mail. Now it starts and
    serves."""
    tern = th.Tern({"auth.allow_plaintext_loopback": "yes"})
    nobody = pwd.getpwnam("nobody")
    os.mkdir(tern.data_dir)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,uid=%d,gid=%d,mode=0700" %
                    (nobody.pw_uid, nobody.pw_gid), "tmpfs", tern.data_dir], check=True)
    try:
        tern.setup_accounts()
        [msg] = tern.import_mbox(th.USER, [th.make_message(1)])
        tern.start().terminate()
        fd = os.open(os.path.join(tern.data_dir, "filler"), os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            while True:
                os.write(fd, b"x" * 4096)
        except OSError:
            pass
        os.close(fd)
        srv = tern.start()
        pop = th.pop_stls(srv.pop3_port)
        assert th.retr_all(pop) == [msg]
        pop.quit()
    finally:
        for srv in tern.servers:
            srv.stop_quietly()
        subprocess.run(["umount", tern.data_dir], check=False)
        assert not tern.cleanup()


@pytest.mark.skipif(not th.AS_ROOT, reason="mounts a small tmpfs")
def test_user_deletes_mail_on_a_full_disk():
    """On a full disk DELE + QUIT answered -ERR [SYS/TEMP]: an expunge must
    write to index.db's WAL before it frees any file. The server keeps a
    space reserve in DATA and gives it up for that."""
    tern = th.Tern({"auth.allow_plaintext_loopback": "yes"})
    nobody = pwd.getpwnam("nobody")
    os.mkdir(tern.data_dir)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m,uid=%d,gid=%d,mode=0700" %
                    (nobody.pw_uid, nobody.pw_gid), "tmpfs", tern.data_dir], check=True)
    try:
        tern.setup_accounts()
        tern.import_mbox(th.USER, [th.make_message(i) for i in range(1, 6)])
        srv = tern.start()
        assert os.path.getsize(os.path.join(tern.data_dir, "space.reserve")) > 0
        fd = os.open(os.path.join(tern.data_dir, "filler"), os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            while True:
                os.write(fd, b"x" * 65536)
        except OSError:
            pass
        try:
            while True:
                os.write(fd, b"x" * 512)
        except OSError:
            pass
        os.close(fd)
        pop = th.pop_stls(srv.pop3_port)
        for i in range(1, 6):
            pop.dele(i)
        assert pop.quit().startswith(b"+OK")
        pop = th.pop_stls(srv.pop3_port)
        assert pop.stat()[0] == 0
        pop.quit()
        assert "space reserve given up" in srv.stderr_text()
    finally:
        for srv in tern.servers:
            srv.stop_quietly()
        subprocess.run(["umount", tern.data_dir], check=False)
        assert not tern.cleanup()
