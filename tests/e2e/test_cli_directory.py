# test_cli_directory - `tern domain|user|alias` run as an administrator runs
# them: exit codes, one-line reasons, and never a password or hash printed.
import os
import pathlib
import pwd
import shutil
import sqlite3
import stat
import subprocess
import tempfile

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
TERN = os.environ.get("TERN_BIN", str(REPO / "build" / "tern"))

PASSWORD = "correct horse battery staple"
SHA512_PASSWORD = "hunter2-imported"


class Tern:
    """Runs the CLI against one fresh data folder and remembers every output,
    so a test can check that no secret was ever printed."""

    def __init__(self, data_dir, conf, extra):
        self.data_dir = data_dir
        self.conf = conf
        self.extra = extra
        self.outputs = []
        self.secrets = [PASSWORD, SHA512_PASSWORD]

    def __call__(self, *args, stdin=None):
        argv = [TERN, *args, "-c", self.conf, "--set", f"server.data_dir={self.data_dir}",
                *self.extra]
        r = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=60)
        self.outputs.append(r.stdout + r.stderr)
        return r

    def check_no_secrets(self):
        for out in self.outputs:
            for secret in self.secrets:
                assert secret not in out
            assert "$argon2id$" not in out
            assert "$6$" not in out


@pytest.fixture
def tern():
    if not os.access(TERN, os.X_OK):
        pytest.skip(f"{TERN} is not built")
    top = tempfile.mkdtemp(prefix="tern-cli-dir-")
    extra = []
    data_dir = os.path.join(top, "data")
    if os.geteuid() == 0:
        # As root tern drops to [server] user; let it be `nobody` and make
        # the way to the data folder passable for it.
        os.chmod(top, 0o711)
        extra = ["--set", "server.user=nobody"]
    conf = os.path.join(top, "tern.conf")
    with open(conf, "w") as f:
        f.write("# empty: the tests use --set\n")
    os.chmod(conf, 0o644)
    t = Tern(data_dir, conf, extra)
    yield t
    t.check_no_secrets()
    shutil.rmtree(top, ignore_errors=True)


def ok(r):
    assert r.returncode == 0, r.stderr
    return r.stdout


def fails(r, code, message):
    assert r.returncode == code, (r.returncode, r.stdout, r.stderr)
    assert message in r.stderr, r.stderr
    return r.stderr


def db_rows(t, sql):
    con = sqlite3.connect(os.path.join(t.data_dir, "directory.db"))
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_domains(tern):
    ok(tern("domain", "add", "Example.ORG"))
    ok(tern("domain", "add", "b.example"))
    assert ok(tern("domain", "list")) == "b.example\nexample.org\n"
    err = fails(tern("domain", "add", "example.org"), 1, "already exists")
    assert err.startswith("tern: domain add:") and err.count("\n") == 1
    fails(tern("domain", "add", "-bad-.org"), 2, "unknown option")
    fails(tern("domain", "add", "bad..org"), 1, "invalid domain name")
    fails(tern("domain", "add", "under_score.org"), 1, "invalid domain name")
    ok(tern("domain", "del", "B.EXAMPLE"))
    fails(tern("domain", "del", "b.example"), 1, "domain b.example does not exist")
    assert ok(tern("domain", "list")) == "example.org\n"


def test_files_are_private(tern):
    ok(tern("domain", "add", "example.org"))
    assert stat.S_IMODE(os.stat(tern.data_dir).st_mode) == 0o700
    db = os.path.join(tern.data_dir, "directory.db")
    assert stat.S_IMODE(os.stat(db).st_mode) == 0o600
    if os.geteuid() == 0:
        assert os.stat(db).st_uid == pwd.getpwnam("nobody").pw_uid


def test_users(tern):
    fails(tern("user", "add", "alice@example.org", stdin=PASSWORD + "\n"), 1,
          "tern: user add: domain example.org does not exist")
    ok(tern("domain", "add", "example.org"))
    ok(tern("user", "add", "Alice@Example.ORG", stdin=PASSWORD + "\n"))
    ok(tern("user", "add", "bob@example.org", "--quota", "1048576", stdin=PASSWORD))
    listing = "address quota\nalice@example.org unlimited\nbob@example.org 1048576\n"
    assert ok(tern("user", "list")) == listing
    assert ok(tern("user", "list", "EXAMPLE.org")) == listing
    r = tern("user", "list", "nope.org")
    fails(r, 1, "domain nope.org does not exist")
    assert r.stdout == ""

    # The stored hash is a fresh argon2id one, never the password.
    (h,), = db_rows(tern, "SELECT hash FROM accounts WHERE address = 'alice@example.org'")
    assert h.startswith("{ARGON2ID}$argon2id$v=19$") and PASSWORD not in h

    fails(tern("user", "add", "alice@EXAMPLE.org", stdin=PASSWORD + "\n"), 1, "already exists")
    fails(tern("user", "add", "carol@example.org", stdin="\n"), 1, "password refused: it is empty")
    fails(tern("user", "add", "carol@example.org", stdin=""), 1, "no password on standard input")
    fails(tern("user", "add", "carol@example.org", "--quota", "lots", stdin=PASSWORD), 2, "--quota")
    fails(tern("user", "add", "carol@example.org", "--quota", "10T", stdin=PASSWORD), 2, "--quota")
    fails(tern("user", "add", "carol@example.org", "--quota", "-1", stdin=PASSWORD), 2, "")
    fails(tern("user", "add", "not an address", stdin=PASSWORD), 1, "invalid address")
    fails(tern("user", "add", "a/b@example.org", stdin=PASSWORD), 1, "invalid address")

    ok(tern("user", "passwd", "ALICE@example.org", stdin="new " + PASSWORD + "\n"))
    (h2,), = db_rows(tern, "SELECT hash FROM accounts WHERE address = 'alice@example.org'")
    assert h2 != h and h2.startswith("{ARGON2ID}")
    fails(tern("user", "passwd", "zed@example.org", stdin=PASSWORD), 1, "no such user zed@example.org")
    fails(tern("user", "passwd", "alice@example.org", stdin="\n"), 1, "password refused: it is empty")

    fails(tern("domain", "del", "example.org"), 1, "still has accounts or aliases")
    ok(tern("user", "del", "bob@example.org"))
    fails(tern("user", "del", "bob@example.org"), 1, "no such user bob@example.org")
    ok(tern("user", "del", "alice@example.org"))
    assert ok(tern("user", "list")) == "address quota\n"
    ok(tern("domain", "del", "example.org"))


def test_quota_sizes(tern):
    """--quota takes what the configuration's sizes take (one parser)."""
    ok(tern("domain", "add", "example.org"))
    ok(tern("user", "add", "a@example.org", "--quota", "10M", stdin=PASSWORD))
    ok(tern("user", "add", "b@example.org", "--quota", "512k", stdin=PASSWORD))
    ok(tern("user", "add", "c@example.org", "--quota", "2G", stdin=PASSWORD))
    ok(tern("user", "add", "d@example.org", "--quota", "0", stdin=PASSWORD))
    ok(tern("user", "passwd", "d@example.org", "--quota", "1K", stdin=PASSWORD))
    assert ok(tern("user", "list")) == (
        "address quota\n"
        "a@example.org 10485760\n"
        "b@example.org 524288\n"
        "c@example.org 2147483648\n"
        "d@example.org 1024\n")
    fails(tern("user", "add", "e@example.org", "--quota", "10MB", stdin=PASSWORD), 2,
          "K, M or G suffix")
    fails(tern("user", "add", "e@example.org", "--quota", "99999999999G", stdin=PASSWORD), 2,
          "--quota")


def sha512_crypt(password):
    r = subprocess.run(["openssl", "passwd", "-6", "-salt", "saltsalt", "-stdin"],
                       input=password, capture_output=True, text=True, check=True)
    return r.stdout.strip()


def test_hash_migration(tern):
    crypted = sha512_crypt(SHA512_PASSWORD)
    assert crypted.startswith("$6$saltsalt$")
    stored = "{SHA512-CRYPT}" + crypted
    tern.secrets.append(crypted)
    ok(tern("domain", "add", "example.org"))
    ok(tern("user", "add", "old@example.org", "--hash", stored))
    assert db_rows(tern, "SELECT hash FROM accounts") == [(stored,)]
    # A ready hash also replaces a password.
    ok(tern("user", "passwd", "old@example.org", "--hash", stored))

    err = fails(tern("user", "add", "new@example.org", "--hash", "{PLAIN}" + SHA512_PASSWORD), 1,
                "invalid --hash")
    assert SHA512_PASSWORD not in err
    fails(tern("user", "add", "new@example.org", "--hash", stored[:-5]), 1, "invalid --hash")
    fails(tern("user", "del", "old@example.org", "--hash", stored), 2, "--hash")
    assert ok(tern("user", "list")) == "address quota\nold@example.org unlimited\n"


def test_aliases(tern):
    ok(tern("domain", "add", "example.org"))
    ok(tern("user", "add", "alice@example.org", stdin=PASSWORD))
    fails(tern("alias", "add", "postmaster@nope.org", "alice@example.org"), 1,
          "domain nope.org does not exist")
    ok(tern("alias", "add", "PostMaster@example.org", "Alice@example.org,ops@Remote.example"))
    ok(tern("alias", "add", "abuse@example.org", "alice@example.org", "x@y.example"))
    assert ok(tern("alias", "list")) == (
        "abuse@example.org alice@example.org,x@y.example\n"
        "postmaster@example.org alice@example.org,ops@remote.example\n")
    fails(tern("alias", "add", "postmaster@example.org", "x@y.example"), 1, "already exists")
    fails(tern("alias", "add", "alice@example.org", "x@y.example"), 1, "already exists")
    fails(tern("alias", "add", "info@example.org", "x@y.example,not valid"), 1, "invalid")
    fails(tern("alias", "add", "info@example.org"), 2, "usage")
    # The catch-all of a local domain: `@DOMAIN`.
    ok(tern("alias", "add", "@Example.ORG", "alice@example.org"))
    fails(tern("alias", "add", "@example.org", "x@y.example"), 1, "already exists")
    fails(tern("alias", "add", "@nope.org", "alice@example.org"), 1, "domain nope.org does not exist")
    fails(tern("alias", "add", "@", "alice@example.org"), 1, "invalid")
    fails(tern("alias", "add", "info@example.org", "@example.org"), 1, "invalid")
    assert ok(tern("alias", "list")).startswith("@example.org alice@example.org\n")
    ok(tern("alias", "del", "@example.org"))
    ok(tern("user", "del", "alice@example.org"))
    fails(tern("domain", "del", "example.org"), 1, "still has accounts or aliases")
    ok(tern("alias", "del", "postmaster@example.org"))
    ok(tern("alias", "del", "abuse@example.org"))
    fails(tern("alias", "del", "abuse@example.org"), 1, "no such alias")
    assert ok(tern("alias", "list")) == ""
    ok(tern("domain", "del", "example.org"))


@pytest.mark.parametrize("args", [
    ["domain"], ["domain", "frob", "x.org"], ["domain", "add"], ["domain", "list", "x"],
    ["user"], ["user", "add"], ["user", "frob", "a@b.org"], ["user", "add", "a@b.org", "c@d.org"],
    ["user", "add", "a@b.org", "--bogus"], ["alias"], ["alias", "del"], ["alias", "list", "x"],
    ["user", "add", "a@b.org", "--hash"],
])
def test_usage_errors(tern, args):
    r = tern(*args, stdin=PASSWORD)
    assert r.returncode == 2, (args, r.stderr)
    assert r.stderr.strip() != ""


@pytest.mark.parametrize("cmd", ["domain", "user", "alias"])
def test_help(tern, cmd):
    out = ok(tern(cmd, "--help"))
    assert out.startswith(f"usage: tern {cmd}")
