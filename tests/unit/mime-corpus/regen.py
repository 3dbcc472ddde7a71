#!/usr/bin/python3
"""regen.py - write NAME.expected for every NAME.eml of this folder from
what Dovecot's IMAP server answers for the message: its RFC822.SIZE,
ENVELOPE, BODY and BODYSTRUCTURE, and the content of every section up to
three part numbers deep (1..4 each), so that tests/unit/test-mail-mime.c
compares tern's parser with Dovecot without Dovecot at test time.

Needs dovecot-imapd (scripts/deps.sh test). Runs Dovecot's imap binary
over a pipe (PREAUTH, no daemon, no port), from a configuration of its own
in a temporary folder; the messages are APPENDed in name order.

Format of NAME.expected, one item after the other:
    ITEM LEN\\n<LEN bytes>\\n      for size, envelope, body, bodystructure
    section PATH KIND LEN FNV\\n   for each section: PATH "0" is the whole
                                  message, KIND body/header/text/mime, LEN
                                  and the 64-bit FNV-1a hash (hex) of the
                                  bytes Dovecot sent ("" when absent)
"""
import itertools
import os
import pwd
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
KINDS = ("body", "header", "text", "mime")


def fnv1a(data):
    h = 0xcbf29ce484222325
    for b in data:
        h ^= b
        h = (h * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return "%016x" % h


class Imap:
    """A minimal IMAP client over a pipe that keeps literals as bytes."""

    def __init__(self, argv):
        self.p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.n = 0
        self.read_line()  # PREAUTH

    def read_line(self):
        """One response line with its literals inlined as {n}\\r\\n<bytes>."""
        out = b""
        while True:
            line = self.p.stdout.readline()
            if not line:
                raise RuntimeError("dovecot closed the connection")
            out += line
            m = re.search(rb"\{(\d+)\}\r\n$", line)
            if not m:
                return out
            out += self.p.stdout.read(int(m.group(1)))

    def command(self, cmd, literal=None):
        self.n += 1
        tag = b"a%d" % self.n
        if literal is None:
            self.p.stdin.write(tag + b" " + cmd + b"\r\n")
        else:
            self.p.stdin.write(tag + b" " + cmd + b" {%d+}\r\n" % len(literal) + literal + b"\r\n")
        self.p.stdin.flush()
        lines = []
        while True:
            line = self.read_line()
            if line.startswith(tag + b" "):
                if not line.startswith(tag + b" OK"):
                    raise RuntimeError("%r: %r" % (cmd, line))
                return lines
            lines.append(line)


def parse_items(resp):
    """The FETCH items of one untagged response, as name -> raw bytes (a
    parenthesised list kept whole, a literal or quoted string decoded)."""
    start = resp.index(b"(") + 1
    items, i = {}, start
    while i < len(resp) and resp[i:i + 1] != b")":
        j = i
        while resp[j:j + 1] != b" ":
            if resp[j:j + 1] == b"[":
                j = resp.index(b"]", j)
            j += 1
        name = resp[i:j].decode()
        i = j + 1
        i, value = parse_value(resp, i)
        items[name] = value
        if resp[i:i + 1] == b" ":
            i += 1
    return items


def parse_value(s, i):
    """(end, value): a list kept as its raw text, a string as its bytes."""
    c = s[i:i + 1]
    if c == b"{":
        j = s.index(b"}", i)
        n = int(s[i + 1:j])
        return j + 3 + n, s[j + 3:j + 3 + n]
    if c == b"\"":
        j, out = i + 1, b""
        while s[j:j + 1] != b"\"":
            if s[j:j + 1] == b"\\":
                j += 1
            out += s[j:j + 1]
            j += 1
        return j + 1, out
    if c == b"(":
        depth, j = 0, i
        while True:
            ch = s[j:j + 1]
            if ch == b"{":
                k = s.index(b"}", j)
                j = k + 3 + int(s[j + 1:k])
                continue
            if ch == b"\"":
                j += 1
                while s[j:j + 1] != b"\"":
                    j += 2 if s[j:j + 1] == b"\\" else 1
            elif ch == b"(":
                depth += 1
            elif ch == b")":
                depth -= 1
                if depth == 0:
                    return j + 1, s[i:j + 1]
            j += 1
    j = i
    while s[j:j + 1] not in (b" ", b")"):
        j += 1
    return j, s[i:j]


def sections():
    """(path, kind, fetch name) for the whole message and every path of
    up to three numbers 1..4."""
    yield "0", "body", "BODY[]"
    yield "0", "header", "BODY[HEADER]"
    yield "0", "text", "BODY[TEXT]"
    for depth in (1, 2, 3):
        for path in itertools.product("1234", repeat=depth):
            p = ".".join(path)
            yield p, "body", "BODY[%s]" % p
            for kind in ("header", "text", "mime"):
                yield p, kind, "BODY[%s.%s]" % (p, kind.upper())


def main():
    names = sorted(f[:-4] for f in os.listdir(HERE) if f.endswith(".eml"))
    tmp = tempfile.mkdtemp(prefix="tern-mime-regen-")
    try:
        nobody = pwd.getpwnam("nobody")
        mdir = os.path.join(tmp, "Maildir")
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(mdir, sub))
        with open(os.path.join(tmp, "dovecot.conf"), "w") as f:
            f.write("mail_location = maildir:%s\nlog_path = %s/dovecot.log\n"
                    "ssl = no\nprotocols = imap\nbase_dir = %s/run\n"
                    "mail_uid = nobody\nmail_gid = %d\n" % (mdir, tmp, tmp, nobody.pw_gid))
        os.chmod(tmp, 0o755)
        for root, dirs, _ in os.walk(mdir):
            os.chown(root, nobody.pw_uid, nobody.pw_gid)
        imap = Imap(["env", "USER=nobody", "HOME=" + tmp, "/usr/lib/dovecot/imap",
                     "-c", os.path.join(tmp, "dovecot.conf")])
        imap.command(b"SELECT INBOX")
        for name in names:
            with open(os.path.join(HERE, name + ".eml"), "rb") as f:
                imap.command(b"APPEND INBOX", f.read())
        for uid, name in enumerate(names, 1):
            items = {}
            for line in imap.command(b"UID FETCH %d (RFC822.SIZE ENVELOPE BODY BODYSTRUCTURE)" % uid):
                items.update(parse_items(line))
            secs = list(sections())
            query = " ".join(s[2].replace("BODY[", "BODY.PEEK[") for s in secs)
            got = {}
            for line in imap.command(b"UID FETCH %d (%s)" % (uid, query.encode())):
                got.update(parse_items(line))
            with open(os.path.join(HERE, name + ".expected"), "wb") as out:
                for item in ("RFC822.SIZE", "ENVELOPE", "BODY", "BODYSTRUCTURE"):
                    v = items[item]
                    key = b"size" if item == "RFC822.SIZE" else item.lower().encode()
                    out.write(b"%s %d\n%s\n" % (key, len(v), v))
                for path, kind, fetch in secs:
                    v = got.get(fetch, b"")
                    if v == b"NIL":
                        v = b""
                    out.write(b"section %s %s %d %s\n" % (path.encode(), kind.encode(), len(v),
                                                          fnv1a(v).encode()))
        imap.command(b"LOGOUT")
    finally:
        shutil.rmtree(tmp)
    print("wrote %d expectations" % len(names), file=sys.stderr)


if __name__ == "__main__":
    main()
