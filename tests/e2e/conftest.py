# conftest - fixtures for the e2e tests that need a real `tern serve`.
# All fixtures are opt-in by name (no autouse), so test modules that bring
# their own setup are not affected.
import os
import shutil
import sys
import tempfile

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import tern_harness as th  # noqa: E402


@pytest.fixture
def tern_factory():
    """tern_factory(extra_sets=None, accounts=True) -> Tern: a fresh data
    folder with domain localhost and the accounts demo@ and demo2@ (their
    passwords are th.PASSWORD and th.PASSWORD2). Start servers with .start().
    At teardown every server is stopped, the folders removed, and the
    server's stderr checked for sanitizer reports."""
    made = []

    def make(extra_sets=None, accounts=True):
        t = th.Tern(extra_sets)
        made.append(t)
        if accounts:
            t.setup_accounts()
        return t

    yield make
    problems = []
    for t in made:
        problems += t.cleanup()
    assert not problems, "sanitizer reports:\n" + "\n".join(problems)


@pytest.fixture
def tern_env(tern_factory):
    """A fresh data folder with accounts, no server yet."""
    return tern_factory()


@pytest.fixture
def pop3_server(tern_env):
    """(tern, server): a running server with default limits; plaintext
    login refused (no allow_plaintext_loopback)."""
    return tern_env, tern_env.start()


@pytest.fixture
def root_only_dir():
    """A fresh folder (0700, the test's owner: root in the CI) that
    [server] user cannot enter: whatever is inside cannot be reached by it,
    whoever owns that."""
    d = tempfile.mkdtemp(prefix="tern-e2e-rootonly-")
    os.chmod(d, 0o700)
    yield d
    shutil.rmtree(d, ignore_errors=True)
