# test_cli_password - one rule for new passwords (dir/password.c
# password_check_new), whatever sets them: what a login could not give back
# byte for byte is refused with a clear reason, never trimmed or cut; a
# password typed on a terminal is not echoed and is asked for twice.
import os
import pty
import select
import subprocess
import time

import pytest

import tern_harness as th

NEW = "demo3@localhost"


def add(t, password, sub="add", address=NEW):
    """`tern user SUB ADDRESS` with raw bytes on standard input."""
    argv = [th.TERN_BIN, "user", sub, address] + t.set_args()
    return subprocess.run(argv, input=password, capture_output=True, timeout=th.TIMEOUT * 4)


@pytest.mark.parametrize("password,reason", [
    (b"secret \n", "it ends with a space"),
    (b" secret\n", "it begins with a space"),
    (b"sec\0ret\n", "it contains a NUL byte"),
    (b"secret\0\n", "it contains a NUL byte"),
    (b"sec\tret\n", "it contains a control character"),
    (b"p\xe4sse\n", "it is not valid UTF-8"),
    (b"x" * 201 + b"\n", "it is longer than 200 bytes"),
    (b"\n", "it is empty"),
])
def test_refused_with_a_reason(tern_env, password, reason):
    for sub, address in (("add", NEW), ("passwd", th.USER)):
        r = add(tern_env, password, sub, address)
        err = r.stderr.decode()
        assert r.returncode == 1, (sub, err)
        assert err.startswith("tern: user %s: password refused: %s" % (sub, reason)), err
        assert err.count("\n") == 1, err
    out = tern_env.cmd("user", "list").stdout
    assert NEW not in out


def test_endless_input_is_refused_not_read_forever(tern_env):
    """No line end, ever: the reading stops at its bound."""
    with open("/dev/zero", "rb") as zero:
        r = subprocess.run([th.TERN_BIN, "user", "add", NEW] + tern_env.set_args(),
                           stdin=zero, capture_output=True, timeout=th.TIMEOUT * 4)
    assert r.returncode == 1
    assert b"password refused" in r.stderr


def test_accepted_password_works_with_pass_and_auth_plain(tern_env):
    """Kept exactly: inner spaces, UTF-8, and a CRLF line end removed."""
    password = "in  the middle \u00e4\u20ac"
    r = add(tern_env, password.encode() + b"\r\n")
    assert r.returncode == 0, r.stderr
    srv = tern_env.start()
    p = th.pop_ssl(srv.pop3s_port, user=NEW, password=password)
    p.quit()
    raw = th.Raw(srv.pop3s_port, tls=True)
    assert raw.readline().startswith(b"+OK")
    raw.login(NEW, password)
    raw.cmd("QUIT")
    raw.close()


def read_until(fd, want, timeout):
    """Read the pty until `want` shows up; returns everything read."""
    out = b""
    deadline = time.monotonic() + timeout
    while want not in out:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError("no %r in %r" % (want, out))
        r, _, _ = select.select([fd], [], [], left)
        if r:
            try:
                chunk = os.read(fd, 4096)
            except OSError:   # EIO: the child closed the terminal
                break
            if not chunk:
                break
            out += chunk
    return out


def run_on_tty(t, args, answers):
    """Run tern with a pseudo-terminal as its stdin/stdout/stderr, typing
    each answer after its prompt. Returns (exit status, all it showed)."""
    master, slave = pty.openpty()
    p = subprocess.Popen([th.TERN_BIN] + args + t.set_args(), stdin=slave, stdout=slave,
                         stderr=slave, start_new_session=True)
    os.close(slave)
    shown = b""
    try:
        for prompt, answer in answers:
            shown += read_until(master, prompt, th.TIMEOUT)
            os.write(master, answer)
        rc = p.wait(timeout=th.TIMEOUT * 4)
        try:
            while True:
                r, _, _ = select.select([master], [], [], 0.2)
                if not r:
                    break
                chunk = os.read(master, 4096)
                if not chunk:
                    break
                shown += chunk
        except OSError:
            pass
        return rc, shown
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        os.close(master)


def test_terminal_prompt_without_echo_twice(tern_env):
    secret = b"Typed-On-A-Tty 42"
    rc, shown = run_on_tty(tern_env, ["user", "add", NEW], [
        (b"New password for " + NEW.encode() + b": ", secret + b"\r"),
        (b"Type it again: ", secret + b"\r"),
    ])
    assert rc == 0, shown
    assert secret not in shown, shown     # no echo
    srv = tern_env.start()
    p = th.pop_ssl(srv.pop3s_port, user=NEW, password=secret.decode())
    p.quit()


def test_terminal_mismatch_changes_nothing(tern_env):
    rc, shown = run_on_tty(tern_env, ["user", "passwd", th.USER], [
        (b"New password for ", b"first-one\r"),
        (b"Type it again: ", b"second-one\r"),
    ])
    assert rc == 1
    assert b"tern: user passwd: the two passwords differ; nothing was changed" in shown
    assert b"first-one" not in shown and b"second-one" not in shown
    srv = tern_env.start()
    p = th.pop_ssl(srv.pop3s_port)      # the old password still works
    p.quit()
