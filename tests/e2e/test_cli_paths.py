# test_cli_paths - started as root, the commands run as [server] user: a
# path that user cannot use is reported as a permission problem that names
# the user, not as "not a Maildir" or "not found". Root only.
import os
import pwd
import shutil
import tempfile

import pytest

import tern_harness as th

pytestmark = pytest.mark.skipif(not th.AS_ROOT, reason="needs root")


@pytest.fixture
def private_dir():
    """A root-only folder (like /root) that nobody cannot enter."""
    top = tempfile.mkdtemp(prefix="tern-e2e-private-")
    os.chmod(top, 0o700)
    yield top
    shutil.rmtree(top, ignore_errors=True)


def one_line_error(r):
    assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)
    lines = [l for l in r.stderr.splitlines() if l.startswith("tern: ")]
    assert len(lines) == 1, r.stderr
    return lines[0]


def test_import_unreadable_maildir(tern_env, private_dir):
    maildir = os.path.join(private_dir, "Maildir")
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(maildir, sub))
    with open(os.path.join(maildir, "new", "1.x"), "wb") as f:
        f.write(th.make_message(1))
    line = one_line_error(tern_env.cmd("import", "maildir", th.USER, maildir, check=False))
    assert line == ("tern: import: cannot read %s: permission denied for user nobody "
                    "(started as root, tern runs as [server] user)" % maildir)


def test_import_unreadable_mbox(tern_env, private_dir):
    mbox = os.path.join(private_dir, "inbox.mbox")
    with open(mbox, "wb") as f:
        f.write(th.mbox_bytes([th.make_message(1)]))
    line = one_line_error(tern_env.cmd("import", "mbox", th.USER, mbox, check=False))
    assert "cannot read %s: permission denied for user nobody" % mbox in line


def test_import_maildir_with_unreadable_cur(tern_env):
    """The Maildir is readable but its cur/ is not: the importer says
    so, rather than import nothing in silence."""
    root = tern_env.source_path("Maildir")
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(root, sub))
    os.chmod(root, 0o755)
    os.chmod(os.path.join(root, "cur"), 0o700)
    r = tern_env.cmd("import", "maildir", th.USER, root, check=False)
    assert "%s/cur: Permission denied" % root in r.stderr, r.stderr
    assert "not a Maildir" not in r.stderr


def test_export_into_unwritable_folder(tern_env, private_dir):
    target = os.path.join(private_dir, "out")
    line = one_line_error(tern_env.cmd("export", "maildir", th.USER, target, check=False))
    assert "cannot write to %s: permission denied for user nobody" % target in line
    assert not os.path.exists(target)


def test_unusable_directory_db(tern_env):
    db = os.path.join(tern_env.data_dir, "directory.db")
    os.chown(db, 0, 0)
    try:
        line = one_line_error(tern_env.cmd("user", "list", check=False))
        assert "cannot use %s: permission denied for user nobody" % db in line
    finally:
        os.chown(db, pwd.getpwnam("nobody").pw_uid, -1)
