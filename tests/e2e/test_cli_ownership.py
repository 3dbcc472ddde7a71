# test_cli_ownership - run as root, tern gives [server] user only what tern
# itself created in the data folder: read-only commands change no owner,
# commands that write and `tern serve` fix only tern's own entries, never a
# stray file, never through a symbolic link, and never a data folder that
# existed before. Root only (the CI runs as root).
import os
import pwd
import shutil
import tempfile

import pytest

import tern_harness as th

pytestmark = pytest.mark.skipif(not th.AS_ROOT, reason="needs root")

NOBODY = pwd.getpwnam("nobody").pw_uid if th.AS_ROOT else -1


def owner(path):
    return os.lstat(path).st_uid


def root_file(path, mode=0o600):
    with open(path, "w") as f:
        f.write("root's\n")
    os.chmod(path, mode)
    return path


@pytest.fixture
def outside():
    """A root-owned folder outside the data folder, with a root file."""
    top = tempfile.mkdtemp(prefix="tern-e2e-outside-")
    root_file(os.path.join(top, "file"))
    yield top
    shutil.rmtree(top, ignore_errors=True)


def test_read_only_commands_change_no_owner(tern_env, tmp_path):
    t = tern_env
    stray = root_file(os.path.join(t.data_dir, "stray"))
    tls = os.path.join(t.data_dir, "tls")
    os.mkdir(tls, 0o700)          # a known entry, root's for the test
    export_parent = tempfile.mkdtemp(prefix="tern-e2e-export-", dir=t.work_dir)
    os.chown(export_parent, NOBODY, -1)
    for args in (("user", "list"), ("domain", "list"), ("alias", "list"),
                 ("export", "maildir", th.USER, os.path.join(export_parent, "out"))):
        t.cmd(*args)
        assert owner(stray) == 0, args
        assert owner(tls) == 0, args
        assert owner(t.data_dir) == NOBODY

    # A command that writes gives tern's own entry to the user, not the
    # stray file.
    t.cmd("domain", "add", "example.org")
    assert owner(tls) == NOBODY
    assert owner(stray) == 0


def test_serve_leaves_stray_files_alone(tern_env):
    t = tern_env
    stray = root_file(os.path.join(t.data_dir, "notes.txt"))
    t.start()
    # what serve created as root is the user's; the stray file is not
    for name in ("directory.db", "tls", "tls/cert.pem", "tls/key.pem"):
        assert owner(os.path.join(t.data_dir, name)) == NOBODY, name
    assert owner(stray) == 0
    p = th.pop_ssl(t.pop3s_port)
    p.stat()
    p.quit()
    assert owner(stray) == 0


def test_symlinks_are_not_followed(tern_env, outside):
    t = tern_env
    target = os.path.join(outside, "file")
    stray_link = os.path.join(t.data_dir, "link")
    os.symlink(target, stray_link)
    # tls/ is a known entry: as a link it is not tern's, nor what it leads to
    tls_link = os.path.join(t.data_dir, "tls")
    os.symlink(outside, tls_link)
    os.lchown(stray_link, 0, 0)
    os.lchown(tls_link, 0, 0)
    t.cmd("domain", "add", "example.org")
    t.cmd("user", "add", "alice@example.org", input=th.PASSWORD + "\n")
    for path in (outside, target, stray_link, tls_link):
        assert owner(path) == 0, path

    # serve too (without the tls/ link, which serve would write its
    # certificate through): `mail` as a link to the outside folder is left
    # alone as well
    os.unlink(tls_link)
    mail_link = os.path.join(t.data_dir, "mail")
    os.symlink(outside, mail_link)
    os.lchown(mail_link, 0, 0)
    t.start()
    for path in (outside, target, stray_link, mail_link):
        assert owner(path) == 0, path


def test_existing_data_folder_keeps_its_owner(tmp_path):
    """A data folder that was there before (root's, 0700) is not given
    away: the command fails, naming the user that could not use it."""
    top = tempfile.mkdtemp(prefix="tern-e2e-own-")
    try:
        os.chmod(top, 0o711)
        data = os.path.join(top, "data")
        os.mkdir(data, 0o700)
        t = th.Tern({"server.data_dir": data})
        r = t.cmd("domain", "add", "example.org", check=False)
        assert r.returncode == 1
        assert "permission denied for user nobody" in r.stderr, r.stderr
        assert data in r.stderr and r.stderr.count("\n") == 1
        assert owner(data) == 0 and os.listdir(data) == []
        t.cleanup()
    finally:
        shutil.rmtree(top, ignore_errors=True)
