# test_cli_options - the options every subcommand takes (-c FILE, --set)
# work before the subcommand as well as after it, and `tern --version`
# prints the version CMake's project() declares.
import os
import pathlib
import pwd
import re
import subprocess

import pytest

import tern_harness as th

REPO = pathlib.Path(__file__).resolve().parents[2]


def run(*args, stdin=None):
    return subprocess.run([th.TERN_BIN, *args], input=stdin, capture_output=True, text=True,
                          timeout=th.TIMEOUT * 4)


@pytest.fixture
def conf(tern_env):
    """A configuration file naming tern_env's data folder (and user)."""
    path = os.path.join(tern_env.work_dir, "tern.conf")
    with open(path, "w") as f:
        f.write("[server]\ndata_dir = %s\n" % tern_env.data_dir)
        if th.AS_ROOT:
            f.write("user = nobody\n")
    os.chmod(path, 0o644)
    return path


def test_version():
    m = re.search(r"project\(tern VERSION ([0-9.]+)", (REPO / "CMakeLists.txt").read_text())
    assert m
    r = run("--version")
    assert r.returncode == 0 and r.stdout == "tern %s\n" % m.group(1) and r.stderr == ""


@pytest.mark.parametrize("args", [
    ["user", "list"], ["domain", "list"], ["alias", "list"], ["check"],
])
def test_config_before_the_subcommand(tern_env, conf, args):
    before = run("-c", conf, *args)
    after = run(*args, "-c", conf)
    long_form = run("--config", conf, *args)
    assert before.returncode == 0, before.stderr
    assert before.stdout == after.stdout == long_form.stdout
    if args[0] == "user":
        assert before.stdout == "address quota\n%s unlimited\n%s unlimited\n" % (
            th.USER2, th.USER)
    if args[0] == "check":
        assert "data_dir = %s" % tern_env.data_dir in before.stdout


def test_config_before_import_and_export(tern_env, conf):
    mbox = tern_env.write_mbox([th.make_message(1)])
    r = run("-c", conf, "import", "mbox", th.USER, mbox)
    assert r.returncode == 0 and "imported 1 messages" in r.stdout, r.stderr
    out = os.path.join(tern_env.work_dir, "exported")
    if th.AS_ROOT:
        os.chown(tern_env.work_dir, pwd.getpwnam("nobody").pw_uid, -1)
    r = run("-c", conf, "export", "maildir", th.USER, out)
    assert r.returncode == 0 and "exported 1 messages" in r.stdout, r.stderr


def test_set_before_and_after(tern_env, conf):
    # before the subcommand
    r = run("--set", "server.data_dir=%s" % tern_env.data_dir, "-c", conf, "domain", "list")
    assert r.returncode == 0 and r.stdout == "localhost\n", r.stderr
    # one before, one after: the later one wins
    r = run("--set=server.data_dir=/nonexistent/tern", "-c", conf, "domain", "list",
            "--set", "server.data_dir=%s" % tern_env.data_dir)
    assert r.returncode == 0 and r.stdout == "localhost\n", r.stderr
    r = run("--set", "server.data_dir=%s" % tern_env.data_dir, "-c", conf, "domain", "list",
            "--set", "server.data_dir=/nonexistent/tern")
    assert r.returncode == 1 and "/nonexistent/tern does not exist" in r.stderr
    # a password still comes on standard input
    r = run("-c", conf, "user", "add", "demo3@localhost", stdin="Some-Password-1\n")
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("args,message", [
    (["-c"], "-c needs a value"),
    (["--set"], "--set needs a value"),
    (["-c", "a.conf"], "usage: tern"),
    (["-c", "a.conf", "user", "list", "-c", "b.conf"], "-c given twice"),
    (["-c", "a.conf", "frob"], "unknown command 'frob'"),
])
def test_usage_errors(args, message):
    r = run(*args)
    assert r.returncode == 2 and message in r.stderr, r.stderr


def test_help_mentions_options_before_the_command():
    r = run("--help")
    assert r.returncode == 0
    assert r.stdout.startswith("usage: tern [-c FILE] [--set SECTION.KEY=VALUE ...] COMMAND")
    assert "tern --version" in r.stdout
