# test_check - `tern check` checks what `tern serve` will need besides the
# configuration: a certificate and key that exist, load and match (read as
# root when run as root, before the switch to [server] user), and a data
# folder that user can write. Errors are one line and exit 1; the effective
# configuration is printed either way.
import os
import pwd
import subprocess

import pytest

import tern_harness as th


def check(tern, sets=None):
    p = tern.cmd("check", sets=sets, check=False)
    errors = p.stderr.strip().splitlines()
    return p.returncode, p.stdout, errors


def assert_config_printed(out):
    assert "[server]" in out and "[tls]" in out and "[limits]" in out, out


def test_good_pair(tern_factory):
    probe = tern_factory(accounts=False)
    cert, key = th.make_cert(probe.work_dir, "a", "a.test.example")
    tern = tern_factory({"tls.cert": cert, "tls.key": key}, accounts=False)
    tern.make_data_dir()
    rc, out, errors = check(tern)
    assert rc == 0 and errors == [], errors
    assert "; tls: %s and %s load and match" % (cert, key) in out, out
    assert "; data_dir: %s is writable" % tern.data_dir in out, out


def test_mismatched_key(tern_factory):
    probe = tern_factory(accounts=False)
    cert, _ = th.make_cert(probe.work_dir, "a", "a.test.example")
    _, key_b = th.make_cert(probe.work_dir, "b", "b.test.example")
    tern = tern_factory({"tls.cert": cert, "tls.key": key_b}, accounts=False)
    rc, out, errors = check(tern)
    assert rc == 1
    assert len(errors) == 1, errors
    assert "key %s does not match certificate %s" % (key_b, cert) in errors[0], errors
    assert_config_printed(out)


def test_missing_certificate(tern_factory):
    probe = tern_factory(accounts=False)
    _, key = th.make_cert(probe.work_dir, "a", "a.test.example")
    missing = os.path.join(probe.work_dir, "gone.crt")
    tern = tern_factory({"tls.cert": missing, "tls.key": key}, accounts=False)
    rc, out, errors = check(tern)
    assert rc == 1
    assert len(errors) == 1, errors
    assert "cannot read %s: No such file or directory" % missing in errors[0], errors
    assert_config_printed(out)


def test_self_signed_pair_is_named(tern_factory):
    tern = tern_factory(accounts=False)
    tls_dir = os.path.join(tern.data_dir, "tls")
    rc, out, errors = check(tern)
    assert rc == 0, errors
    assert "a self-signed pair will be generated in %s on first start" % tls_dir in out, out
    assert not os.path.exists(tls_dir)  # check creates nothing
    srv = tern.start()
    srv.terminate()
    rc, out, errors = check(tern)
    assert rc == 0, errors
    assert "the self-signed pair in %s is used" % tls_dir in out, out


def test_missing_data_folder_is_not_created(tern_factory):
    tern = tern_factory(accounts=False)
    data = os.path.join(tern.work_dir, "newdata")
    rc, out, errors = check(tern, {"server.data_dir": data})
    assert rc == 0, errors
    assert "; data_dir: %s does not exist yet; serve will create it" % data in out, out
    assert not os.path.exists(data)
    rc, out, errors = check(tern, {"server.data_dir": os.path.join(data, "deeper")})
    assert rc == 1
    assert "does not exist and cannot be created" in errors[0], errors


@pytest.mark.skipif(not th.AS_ROOT, reason="needs root (the check switches to nobody)")
def test_data_folder_the_user_cannot_write(tern_factory, root_only_dir):
    tern = tern_factory(accounts=False)
    # owned by root, 0700: nobody cannot create a file in it
    data = os.path.join(tern.work_dir, "rootdata")
    os.mkdir(data, 0o700)
    rc, out, errors = check(tern, {"server.data_dir": data})
    assert rc == 1
    assert errors == ["tern: check: data folder %s is not writable by user nobody: "
                      "Permission denied" % data], errors
    assert_config_printed(out)
    # inside a folder nobody cannot enter
    inner = os.path.join(root_only_dir, "data")
    os.mkdir(inner, 0o700)
    nobody = pwd.getpwnam("nobody")
    os.chown(inner, nobody.pw_uid, nobody.pw_gid)
    rc, out, errors = check(tern, {"server.data_dir": inner})
    assert rc == 1
    assert "data folder %s cannot be reached by user nobody: Permission denied" % inner \
        in errors[0], errors


@pytest.mark.skipif(not th.AS_ROOT, reason="needs root")
def test_root_only_key_is_checked_before_the_switch(tern_factory, root_only_dir):
    """Let's Encrypt's key is root's alone; the check reads it as root."""
    cert, key = th.make_cert(root_only_dir, "le", "le.test.example")
    os.chmod(key, 0o600)
    tern = tern_factory({"tls.cert": cert, "tls.key": key}, accounts=False)
    assert subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                           "cat", key], capture_output=True).returncode != 0
    rc, out, errors = check(tern)
    assert rc == 0, errors
    assert "load and match" in out


@pytest.mark.skipif(not th.AS_ROOT, reason="needs root")
def test_pair_the_server_user_could_redirect(tern_factory):
    """What serve refuses to read as root, check refuses too."""
    tern = tern_factory(accounts=False)
    tern.make_data_dir()
    certs = os.path.join(tern.data_dir, "certs")
    os.mkdir(certs, 0o755)
    cert, key = th.make_cert(certs, "a", "a.test.example")
    rc, out, errors = check(tern, {"tls.cert": cert, "tls.key": key})
    assert rc == 1
    assert len(errors) == 1, errors
    assert "not reading %s as root: the server's user can change %s" % (cert, tern.data_dir) \
        in errors[0], errors


def test_postmaster_warning(tern_factory):
    """RFC 5321 4.5.1: postmaster@ each local domain must be deliverable;
    check says which domain's is not, and how to fix it."""
    tern = tern_factory()
    tern.cmd("domain", "add", "example.org")
    tern.cmd("alias", "add", "postmaster@example.org", "demo@localhost")
    rc, out, errors = check(tern)
    assert rc == 0
    assert errors == ["tern: check: warning: mail to postmaster@localhost is refused: add an "
                      "account or alias for it or set [smtp] postmaster",
                      "tern: check: warning: mail to <postmaster> (no domain) is refused: set "
                      "[smtp] postmaster"], errors
    assert ("; warning: mail to postmaster@localhost is refused: add an account or alias for "
            "it (tern alias add postmaster@localhost ACCOUNT) or set [smtp] postmaster") in out
    assert "postmaster@example.org" not in out
    # [smtp] postmaster covers every domain without one of its own.
    rc, out, errors = check(tern, sets={"smtp.postmaster": "demo@localhost"})
    assert rc == 0 and errors == [], errors
    assert "; postmaster: every local domain's postmaster@ is delivered" in out
    # So does a catch-all; <postmaster> alone goes to the server's own
    # name when that is a local domain.
    tern.cmd("alias", "add", "@localhost", "demo2@localhost")
    rc, out, errors = check(tern, sets={"server.hostname": "localhost"})
    assert rc == 0 and errors == [], errors
