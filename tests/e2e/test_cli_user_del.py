# test_cli_user_del - `tern user del` takes the account's mail with it: an
# account added again under the same address starts empty; --keep-mail
# moves the old folder where no account can find it; while a session has
# the mail open, nothing is deleted; an account that only lingers after
# its last session ([server] account_linger) is closed for it at once; an
# idle IMAP session of a deleted account gets BYE, never a new account's
# mail.
import os
import smtplib
import sqlite3

import tern_harness as th


def account_dir(t, address=th.USER):
    local, domain = address.split("@")
    return os.path.join(t.data_dir, "mail", domain, local)


def stat_count(port, password=th.PASSWORD):
    p = th.pop_ssl(port, password=password)
    count, _ = p.stat()
    p.quit()
    return count


def test_readded_account_gets_no_old_mail(tern_env):
    t = tern_env
    t.import_mbox(th.USER, [th.make_message(1), th.make_message(2)])
    assert os.path.isdir(account_dir(t))
    r = t.cmd("user", "del", th.USER)
    assert r.stdout == "" and r.stderr == ""
    assert not os.path.exists(account_dir(t))
    # nothing kept aside either
    aside = os.path.join(t.data_dir, "mail", "localhost", ".deleted")
    assert not os.path.isdir(aside) or os.listdir(aside) == []
    t.cmd("user", "add", th.USER, input=th.PASSWORD + "\n")
    srv = t.start()
    assert stat_count(srv.pop3s_port) == 0


def test_keep_mail_moves_it_aside(tern_env):
    t = tern_env
    t.import_mbox(th.USER, [th.make_message(1)])
    files_before = sorted(os.listdir(os.path.join(account_dir(t), "msg")))
    assert len(files_before) == 1
    r = t.cmd("user", "del", th.USER, "--keep-mail")
    assert r.stdout.startswith("deleted %s; its mail is kept in " % th.USER), r.stdout
    kept = r.stdout.strip().rsplit(" ", 1)[1]
    assert os.path.dirname(kept) == os.path.join(t.data_dir, "mail", "localhost", ".deleted")
    assert os.path.basename(kept).startswith("demo.")
    assert os.path.isfile(os.path.join(kept, "index.db"))
    assert sorted(os.listdir(os.path.join(kept, "msg"))) == files_before
    assert not os.path.exists(account_dir(t))

    # the same address again, twice deleted with --keep-mail in one second:
    # each old folder gets a name of its own
    t.cmd("user", "add", th.USER, input=th.PASSWORD + "\n")
    srv = t.start()
    assert stat_count(srv.pop3s_port) == 0
    srv.stop_quietly()
    r2 = t.cmd("user", "del", th.USER, "--keep-mail")
    kept2 = r2.stdout.strip().rsplit(" ", 1)[1]
    assert kept2 != kept and os.path.isdir(kept) and os.path.isdir(kept2)
    # an account name can never be ".deleted" (it starts with a dot)
    r = t.cmd("user", "add", ".deleted@localhost", input=th.PASSWORD + "\n", check=False)
    assert r.returncode == 1 and "invalid address" in r.stderr


def test_refused_while_a_session_has_the_mail_open(tern_env):
    t = tern_env
    t.import_mbox(th.USER, [th.make_message(1)])
    srv = t.start()
    p = th.pop_ssl(srv.pop3s_port)       # logged in: the store is open
    assert p.stat()[0] == 1
    r = t.cmd("user", "del", th.USER, check=False)
    assert r.returncode == 1
    assert "the mail of %s is open" % th.USER in r.stderr and "nothing was changed" in r.stderr
    assert r.stderr.count("\n") == 1
    # nothing changed: the account and its mail are there
    assert th.USER in t.cmd("user", "list").stdout
    assert os.path.isdir(account_dir(t))
    p.quit()
    th.wait_for(lambda: t.cmd("user", "del", th.USER, check=False).returncode == 0)
    assert th.USER not in t.cmd("user", "list").stdout
    assert not os.path.exists(account_dir(t))
    # the server goes on serving the other account
    p2 = th.pop_ssl(srv.pop3s_port, user=th.USER2, password=th.PASSWORD2)
    assert p2.stat()[0] == 0
    p2.quit()


def test_del_of_a_lingering_account(tern_env):
    """After the last session the server keeps the account open (a long
    linger here, so that only the release can close it): `user del` asks
    the server to close it and succeeds at once."""
    t = tern_env
    t.import_mbox(th.USER, [th.make_message(1)])
    srv = t.start(sets={"server.account_linger": "3600"})
    p = th.pop_ssl(srv.pop3s_port)
    assert p.stat()[0] == 1
    p.quit()
    r = t.cmd("user", "del", th.USER)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    assert not os.path.exists(account_dir(t))
    # the server goes on serving the other account
    p2 = th.pop_ssl(srv.pop3s_port, user=th.USER2, password=th.PASSWORD2)
    assert p2.stat()[0] == 0
    p2.quit()


def test_account_without_a_mail_folder(tern_env):
    t = tern_env
    assert not os.path.exists(account_dir(t, th.USER2))
    t.cmd("user", "del", th.USER2)
    r = t.cmd("user", "del", th.USER2, check=False)
    assert r.returncode == 1 and "no such user" in r.stderr


def test_add_moves_an_orphan_folder_aside(tern_env):
    """Mail left by an account deleted before `user del` took its mail (or
    by a crash between its two steps) is not handed to a new account."""
    t = tern_env
    t.import_mbox(th.USER, [th.make_message(1)])
    con = sqlite3.connect(os.path.join(t.data_dir, "directory.db"))
    with con:
        con.execute("DELETE FROM accounts WHERE address = ?", (th.USER,))
    con.close()
    assert os.path.isdir(account_dir(t))
    r = t.cmd("user", "add", th.USER, input=th.PASSWORD + "\n")
    assert r.stdout.startswith("added %s; an old mail folder at its place, of no account, "
                               "was moved to " % th.USER), r.stdout
    kept = r.stdout.strip().rsplit(" ", 1)[1]
    assert os.path.isfile(os.path.join(kept, "index.db"))
    srv = t.start()
    assert stat_count(srv.pop3s_port) == 0


def test_add_of_an_existing_account_in_use(tern_env):
    t = tern_env
    srv = t.start()
    p = th.pop_ssl(srv.pop3s_port)
    r = t.cmd("user", "add", th.USER, input=th.PASSWORD + "\n", check=False)
    assert r.returncode == 1 and "already exists" in r.stderr, r.stderr
    p.quit()


def read_to_bye(session):
    """Response lines up to "* BYE" (included), then the connection's end."""
    lines = []
    while not (lines and lines[-1].startswith(b"* BYE")):
        lines.append(session.response_line())
    assert session.is_closed(), lines
    return lines


def test_idle_imap_sessions_of_a_deleted_account(tern_env):
    """An idle IMAP session holds no handle ([imap] release_after), so
    `user del` succeeds while it is logged in: a session in IDLE gets BYE
    at once, another at its next command, and no folder is made for the
    deleted address. One that waits until the address is added again and
    has mail still gets BYE, never the new account's mail, which a new
    session sees."""
    t = tern_env
    t.import_mbox(th.USER, [th.make_message(1)])
    t.enable_imap()
    t.enable_smtp()
    srv = t.start(sets={"imap.release_after": "1"})
    sessions = []
    for _ in range(3):
        m = th.RawIMAP(t.imaps_port, tls=True)
        m.login()
        m.ok("SELECT INBOX")
        sessions.append(m)
    polling, idling, late = sessions
    idling.send(b"i1 IDLE\r\n")
    assert idling.response_line().startswith(b"+ ")
    # refused while a session holds the handle, then done within a second
    th.wait_for(lambda: t.cmd("user", "del", th.USER, check=False).returncode == 0)
    assert not os.path.exists(account_dir(t))
    bye = b"* BYE Account was removed, have to disconnect"
    assert read_to_bye(idling) == [bye]
    polling.send(b"p1 NOOP\r\n")
    assert read_to_bye(polling) == [bye]
    assert not os.path.exists(account_dir(t))
    assert 'msg="account gone" user="%s"' % th.USER in srv.stderr_text()

    t.cmd("user", "add", th.USER, input=th.PASSWORD + "\n")
    s = smtplib.SMTP("127.0.0.1", t.smtp_port, timeout=th.TIMEOUT)
    s.sendmail("someone@example.org", [th.USER], th.make_message(7).replace(b"\n", b"\r\n"))
    s.quit()
    fresh = th.imap_ssl(t.imaps_port)
    th.wait_for(lambda: fresh.select("INBOX")[1] == [b"1"])
    fresh.logout()
    late.send(b"l1 FETCH 1:* (FLAGS)\r\n")
    assert read_to_bye(late) == [bye]
