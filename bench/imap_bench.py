# imap_bench - run tern and Dovecot's IMAP server side by side on loopback
# under one load generator (this file, stdlib only) and print a table:
# SELECT of a 100,000-message mailbox, FETCH 1:* (UID FLAGS) on it, FETCH
# BODYSTRUCTURE of 10,000 messages, SEARCH TEXT over 10,000 messages, and
# a mixed load of 50 concurrent clients; a QRESYNC SELECT after 1,000 flag
# changes and 1,000 expunges on the 100,000-message mailbox, and SELECT and
# FETCH 1:* (UID FLAGS) of a 1,000,000-message one; and the memory of
# 10,000 idle connections in IDLE. See bench/README.md.
import asyncio
import multiprocessing
import os
import random
import resource
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import warnings

with warnings.catch_warnings():
	warnings.simplefilter("ignore", DeprecationWarning)
	import crypt

import benchlib
from benchlib import (DOVECOT_BIN, TERN_BIN, BenchError, chown_tree, dovecot_version, env_int,
		      log, machine_line)

BIG = env_int("BENCH_BIG", 100_000)               # SELECT / FETCH FLAGS mailbox
MID = env_int("BENCH_MID", 10_000)                # BODYSTRUCTURE / SEARCH mailbox
LOAD_CLIENTS = env_int("BENCH_LOAD_CLIENTS", 50)  # mixed load: clients, one account each
LOAD_MSGS = env_int("BENCH_LOAD_MSGS", 100)       # mixed load: messages per account
LOAD_SECONDS = float(os.environ.get("BENCH_LOAD_SECONDS", "10"))
HUGE = env_int("BENCH_HUGE", 1_000_000)           # SELECT of a huge mailbox (0: skipped)
QRESYNC_CHANGES = env_int("BENCH_QRESYNC_CHANGES", 1000)  # flag changes, and as many expunges
RUNS = env_int("BENCH_RUNS", 3)                   # timings: best of
DEADLINE = env_int("BENCH_DEADLINE", 2400)         # whole run, then abort + clean up
IO_TIMEOUT = 120.0

DOMAIN = "bench.test"
PASSWORD = "Bench-Pass-42"
NEEDLE = "quixotic"                               # in one message of MID out of 50

# ---------------------------------------------------------------- messages

WORDS = ("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike "
	 "november oscar papa quebec romeo sierra tango uniform victor whiskey xray yankee "
	 "zulu meeting report invoice schedule project budget review draft final").split()


def text_lines(rng, n):
	return "".join(" ".join(rng.choice(WORDS) for _ in range(11)) + "\n" for _ in range(n))


def small_message(i):
	"""About 600 bytes, text/plain: the 100,000-message mailbox."""
	rng = random.Random(i)
	return ("From: Sender %d <sender%d@example.org>\nTo: big@bench.test\n"
		"Subject: small %d %s\nDate: Thu, 26 Nov 2026 10:%02d:00 +0000\n"
		"Message-ID: <small-%d@example.org>\nMIME-Version: 1.0\n"
		"Content-Type: text/plain; charset=us-ascii\n\n%s" %
		(i % 97, i % 97, i, rng.choice(WORDS), i % 60, i, text_lines(rng, 6))).encode()


def tiny_message(i):
	"""About 100 bytes: the 1,000,000-message mailbox, whose SELECT costs
	the same whatever the messages hold."""
	return (b"From: s%d@example.org\nSubject: t %d\nMessage-ID: <t%d@example.org>\n\nbody %d\n"
		% (i % 97, i, i, i))


def mime_message(i):
	"""About 3 KB of real-world shapes, in turn: text/plain, alternative,
	mixed with an attachment, a forwarded message/rfc822."""
	rng = random.Random(1000000 + i)
	body = text_lines(rng, 12)
	if i % 50 == 7:
		body += "a %s word in the middle\n" % NEEDLE
	head = ("From: =?utf-8?q?J=C3=BCrgen?= <jurgen%d@example.org>\nTo: mid@bench.test, "
		"Team <team@example.org>\nCc: cc%d@example.net\nSubject: mime %d %s\n"
		"Date: Fri, 27 Nov 2026 %02d:%02d:00 +0100\nMessage-ID: <mime-%d@example.org>\n"
		"MIME-Version: 1.0\n" % (i % 31, i % 7, i, rng.choice(WORDS), i % 24, i % 60, i))
	kind = i % 4
	if kind == 0:
		return (head + "Content-Type: text/plain; charset=utf-8\n"
			"Content-Transfer-Encoding: 8bit\n\n" + body).encode()
	if kind == 1:
		return (head + 'Content-Type: multipart/alternative; boundary="alt%d"\n\n'
			"--alt%d\nContent-Type: text/plain; charset=us-ascii\n\n%s"
			"--alt%d\nContent-Type: text/html; charset=us-ascii\n\n<p>%s</p>\n"
			"--alt%d--\n" % (i, i, body, i, body.replace("\n", "<br>"), i)).encode()
	if kind == 2:
		att = "".join("QkVOQ0ggYXR0YWNobWVudCBieXRlcyAlMDhkIHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4\n"
			      for _ in range(16))
		return (head + 'Content-Type: multipart/mixed; boundary="mix%d"\n\n'
			"--mix%d\nContent-Type: text/plain; charset=us-ascii\n\n%s"
			'--mix%d\nContent-Type: application/pdf; name="report-%d.pdf"\n'
			'Content-Disposition: attachment; filename="report-%d.pdf"\n'
			"Content-Transfer-Encoding: base64\n\n%s--mix%d--\n" %
			(i, i, body, i, i, i, att, i)).encode()
	inner = ("From: Other <other@example.com>\nSubject: inner %d\n"
		 "Date: Wed, 25 Nov 2026 09:00:00 +0000\n\n%s" % (i, text_lines(rng, 5)))
	return (head + 'Content-Type: multipart/mixed; boundary="fwd%d"\n\n'
		"--fwd%d\nContent-Type: text/plain; charset=us-ascii\n\n%s"
		"--fwd%d\nContent-Type: message/rfc822\n\n%s\n--fwd%d--\n" %
		(i, i, body, i, inner, i)).encode()


def write_maildir(path, count, make):
	for sub in ("cur", "new", "tmp"):
		os.makedirs(os.path.join(path, sub))
	for i in range(count):
		m = make(i)
		flags = "S" if i % 3 else ""
		name = "17000%06d.M%dP1.bench,S=%d,W=%d:2,%s" % (i, i, len(m), len(m) + m.count(b"\n"), flags)
		with open(os.path.join(path, "cur", name), "wb") as f:
			f.write(m)
	for root, dirs, files in os.walk(path):
		os.chmod(root, 0o755)
		for f in files:
			os.chmod(os.path.join(root, f), 0o644)


# ---------------------------------------------------------------- client

class Imap:
	"""A minimal IMAP client: commands one at a time, responses read and
	counted, literals skipped by their announced size."""

	def __init__(self, port, timeout=IO_TIMEOUT):
		self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
		self.f = self.sock.makefile("rb", buffering=262144)
		self.n = 0
		self.line()

	def line(self):
		line = self.f.readline()
		if not line:
			raise BenchError("server closed the connection")
		return line

	def cmd(self, text, literal=None, keep=None):
		"""Send one command; return (untagged response count, octets read).
		A literal goes as LITERAL+ (both servers offer it). With a list
		`keep`, the untagged lines are appended to it."""
		self.n += 1
		tag = b"b%d" % self.n
		if literal is None:
			self.sock.sendall(tag + b" " + text + b"\r\n")
		else:
			self.sock.sendall(tag + b" " + text + b" {%d+}\r\n" % len(literal) + literal + b"\r\n")
		count = octets = 0
		while True:
			line = self.line()
			octets += len(line)
			while line.endswith(b"}\r\n") and b"{" in line:
				size = int(line[line.rindex(b"{") + 1:-3])
				data = self.f.read(size)
				if len(data) != size:
					raise BenchError("short literal")
				octets += size
				line = self.line()
				octets += len(line)
			if line.startswith(tag + b" "):
				if not line.startswith(tag + b" OK"):
					raise BenchError("%s -> %s" % (text[:60], line.strip()[:200]))
				return count, octets
			if keep is not None:
				keep.append(line)
			count += 1

	def cmd_fast(self, text):
		"""For the timed commands with large answers: read raw chunks up to
		the tagged reply, so that the load generator's own parsing does not
		dominate the time. Counts untagged responses by their "* " starts
		(none of the timed answers carries a literal)."""
		self.n += 1
		tag = b"b%d" % self.n
		self.sock.sendall(tag + b" " + text + b"\r\n")
		end = b"\r\n" + tag + b" "
		star = b"\r\n* "
		carry = b"\r\n"
		count = 0
		while True:
			more = self.f.read1(262144)
			if not more:
				raise BenchError("server closed the connection")
			window = carry + more
			i = window.find(end)
			if i >= 0:
				count += window[:i].count(star) - carry.count(star)
				rest = window[i + 2:]
				while not rest.endswith(b"\r\n"):
					more = self.f.read1(65536)
					if not more:
						raise BenchError("server closed the connection")
					rest += more
				if not rest.startswith(tag + b" OK"):
					raise BenchError("%s -> %s" % (text[:60], rest.strip()[:200]))
				return count, 0
			count += window.count(star) - carry.count(star)
			# enough of the tail to find a tag or a "* " split across reads
			carry = window[-(len(end) + 2):]

	def login(self, user):
		self.cmd(b'LOGIN "%s" "%s"' % (user.encode(), PASSWORD.encode()))

	def close(self):
		try:
			self.cmd(b"LOGOUT")
		except (BenchError, OSError):
			pass
		self.sock.close()


def timed(fn):
	t = time.monotonic()
	fn()
	return time.monotonic() - t


def best(runs, fn):
	return min(timed(fn) for _ in range(runs))


def measure_select(srv, user, expect):
	"""Fresh login each time; the SELECT alone is timed."""
	def once():
		c = Imap(srv.port)
		c.login(user)
		t = time.monotonic()
		count, _ = c.cmd(b"SELECT INBOX")
		once.t = min(once.t, time.monotonic() - t)
		c.close()
	once.t = float("inf")
	for _ in range(RUNS):
		once()
	return once.t


def measure_fetch(srv, user, command, expect):
	c = Imap(srv.port)
	c.login(user)
	c.cmd(b"EXAMINE INBOX")

	def run():
		count, octets = c.cmd_fast(command)
		if count < expect:
			raise BenchError("%s: %d responses, expected %d" % (command[:40], count, expect))
	run()                       # warm: caches built, pages read
	t = best(RUNS, run)
	c.close()
	return t


def load_client(args):
	port, user, seconds, seed = args
	rng = random.Random(seed)
	ops = 0
	end = time.monotonic() + seconds
	msg = small_message(seed)
	while time.monotonic() < end:
		c = Imap(port)
		c.login(user)
		c.cmd(b"SELECT INBOX")
		c.cmd(b"FETCH 1:* (UID FLAGS)")
		n = rng.randint(1, LOAD_MSGS)
		c.cmd(b"FETCH %d (BODY.PEEK[] RFC822.SIZE)" % n)
		c.cmd(b"STORE %d +FLAGS (\\Flagged)" % n)
		c.cmd(b"APPEND INBOX (\\Seen)", literal=msg.replace(b"\n", b"\r\n"))
		c.cmd(b"NOOP")
		c.cmd(b"STORE * +FLAGS.SILENT (\\Deleted)")
		c.cmd(b"EXPUNGE")
		c.cmd(b"LOGOUT")
		c.sock.close()
		ops += 10
	return ops


def measure_load(srv, users):
	args = [(srv.port, u, LOAD_SECONDS, i) for i, u in enumerate(users)]
	t = time.monotonic()
	# Workers get SIGTERM's default back: benchlib.run's handler (exit)
	# made a worker that Pool.terminate() stopped while idle hang, and the
	# run with it.
	with multiprocessing.Pool(len(users), initializer=signal.signal,
				  initargs=(signal.SIGTERM, signal.SIG_DFL)) as pool:
		ops = sum(pool.map(load_client, args))
	return ops / (time.monotonic() - t)


def offers(srv, user, capability):
	"""Whether the server's CAPABILITY after user's login names it."""
	c = Imap(srv.port)
	c.login(user)
	lines = []
	c.cmd(b"CAPABILITY", keep=lines)
	c.close()
	return any(capability in l.split() for l in lines)


def qresync_prepare(srv, user, size):
	"""What a client keeps of the mailbox (UIDVALIDITY, HIGHESTMODSEQ),
	then QRESYNC_CHANGES flag changes and as many expunges by another
	session, spread over the mailbox, 100 messages per command. Returns
	the QRESYNC parameter of the client that comes back."""
	c = Imap(srv.port)
	c.login(user)
	c.cmd(b"ENABLE QRESYNC")
	lines = []
	c.cmd(b"SELECT INBOX", keep=lines)
	text = b"".join(lines)
	try:
		uidvalidity = int(text.split(b"[UIDVALIDITY ")[1].split(b"]")[0])
		modseq = int(text.split(b"[HIGHESTMODSEQ ")[1].split(b"]")[0])
	except (IndexError, ValueError):
		raise BenchError("%s: no UIDVALIDITY or HIGHESTMODSEQ after ENABLE QRESYNC" % srv.name)
	step = size // QRESYNC_CHANGES
	for first in range(0, QRESYNC_CHANGES, 100):
		flagged = b",".join(b"%d" % (i * step + 1) for i in range(first, first + 100))
		gone = b",".join(b"%d" % (i * step + step // 2 + 1) for i in range(first, first + 100))
		c.cmd(b"UID STORE %s +FLAGS.SILENT (\\Flagged)" % flagged)
		c.cmd(b"UID STORE %s +FLAGS.SILENT (\\Deleted)" % gone)
		c.cmd(b"UID EXPUNGE %s" % gone)
	c.close()
	return b"(QRESYNC (%d %d))" % (uidvalidity, modseq)


def measure_qresync(srv, user, param):
	"""A client that comes back: fresh login, ENABLE QRESYNC, then the
	SELECT alone is timed (RFC 7162 3.2.5: VANISHED (EARLIER) for the
	expunged, a FETCH for every message changed since)."""
	def once():
		c = Imap(srv.port)
		c.login(user)
		c.cmd(b"ENABLE QRESYNC")
		t = time.monotonic()
		count, _ = c.cmd_fast(b"SELECT INBOX " + param)
		once.t = min(once.t, time.monotonic() - t)
		c.close()
		if count < QRESYNC_CHANGES:
			raise BenchError("%s: QRESYNC SELECT gave %d responses, expected %d FETCHes and more"
					 % (srv.name, count, QRESYNC_CHANGES))
	once.t = float("inf")
	for _ in range(RUNS):
		once()
	return once.t


def measure_huge(srv, user):
	"""SELECT of the huge mailbox (warm: after the untimed first one);
	then, in one session, the server's memory (Rss of its process tree)
	before login and with the mailbox selected, and FETCH 1:* (UID
	FLAGS) timed with the memory sampled every 20 ms (the peak over the
	selected state: what the answer's output costs)."""
	r = {"huge_select": measure_select(srv, user, HUGE)}
	time.sleep(1)    # the sessions above gone (Dovecot: their processes)
	base = benchlib.tree_memory(srv.pid)[1]
	c = Imap(srv.port)
	c.login(user)
	c.cmd(b"EXAMINE INBOX")
	selected = benchlib.tree_memory(srv.pid)[1]
	peak = [selected]
	stop = threading.Event()

	def sample():
		while not stop.is_set():
			peak[0] = max(peak[0], benchlib.tree_memory(srv.pid)[1])
			stop.wait(0.02)
	sampler = threading.Thread(target=sample)
	sampler.start()
	try:
		t = time.monotonic()
		count, _ = c.cmd_fast(b"FETCH 1:* (UID FLAGS)")
		r["huge_flags"] = time.monotonic() - t
	finally:
		stop.set()
		sampler.join()
	c.close()
	if count < HUGE:
		raise BenchError("%s: FETCH 1:* gave %d responses, expected %d" % (srv.name, count, HUGE))
	r["huge_session_kib"] = selected - base
	r["huge_fetch_kib"] = peak[0] - selected
	return r


# ---------------------------------------------------------------- servers

class Tern(benchlib.Tern):
	def __init__(self, top):
		super().__init__(top)
		self.sets.update({
			"listen.imap": "127.0.0.1:%d" % self.port,
			"auth.allow_plaintext_loopback": "yes",
			"auth.rehash": "no",
			"limits.connections_per_ip": str(LOAD_CLIENTS * 4 + 100),
			"log.level": "warn",
		})
		self.import_seconds = {}

	def setup(self, users, sha_hash, maildirs):
		self.cmd("domain", "add", DOMAIN)
		for u in users:
			self.cmd("user", "add", u, "--hash", "{SHA512-CRYPT}" + sha_hash)
		for u, md in maildirs.items():
			t = time.monotonic()
			self.cmd("import", "maildir", u, md, timeout=3000)
			self.import_seconds[u] = time.monotonic() - t

	def start(self):
		super().start(lambda: Imap(self.port).close())


class Dovecot(benchlib.Dovecot):
	def __init__(self, top):
		super().__init__(top, "imap_bench.py", "imap", plimit=LOAD_CLIENTS * 4 + 100,
				 climit=LOAD_CLIENTS * 16 + 400)
		if HUGE:
			# Debian's default (256 MB of address space per process)
			# stops imap with "Out of memory" at the first SELECT of a
			# 1,000,000-message Maildir (its uidlist hash table).
			with open(self.conf, "a") as f:
				f.write("default_vsz_limit = 4G\n")

	def setup(self, users, sha_hash, maildirs):
		self.write_passwd(users, sha_hash)
		for u in users:
			md = os.path.join(self.top, "home", u, "Maildir")
			src = maildirs[u]
			for sub in ("cur", "new", "tmp"):
				os.makedirs(os.path.join(md, sub))
			# hard links: Maildir files are never written in place
			for name in os.listdir(os.path.join(src, "cur")):
				os.link(os.path.join(src, "cur", name), os.path.join(md, "cur", name))
		chown_tree(os.path.join(self.top, "home"))

	def start(self):
		super().start(lambda: Imap(self.port).close())


def fmt(v, digits):
	return "-" if v is None else ("%.*f" % (digits, v))


def row(label, t, d, digits, note, lower_better):
	ratio = "-"
	if t and d:
		ratio = "%.2f" % ((d / t) if lower_better else (t / d))
	print("%-44s %10s %10s %7s  %s" % (label, fmt(t, digits), fmt(d, digits), ratio, note))


# ---------------------------------------------------------------- idle connections
#
# Memory per idle logged-in connection in IDLE (issue 8): IDLE_CONNS
# connections spread over IDLE_ACCOUNTS accounts whose INBOX holds
# IDLE_MSGS messages each, once over TLS (imaps) and once in plain text
# (imap); growth of the server's whole process tree (Pss) divided by the
# connections. Dovecot needs two processes per TLS connection, so it runs
# at a count that fits the machine (IDLE_DOVECOT_CONNS over
# IDLE_DOVECOT_ACCOUNTS); each side's count is printed beside its figure.

IDLE_CONNS = env_int("BENCH_IDLE_CONNS", 10_000)
IDLE_ACCOUNTS = env_int("BENCH_IDLE_ACCOUNTS", 1_000)
IDLE_MSGS = env_int("BENCH_IDLE_MSGS", 1_000)
IDLE_DOVECOT_CONNS = env_int("BENCH_IDLE_DOVECOT_CONNS", 1_000)
IDLE_DOVECOT_ACCOUNTS = env_int("BENCH_IDLE_DOVECOT_ACCOUNTS", 100)
# Seconds between the last IDLE and the second reading: past tern's
# [server] account_linger (5 s) and the time its reaper takes to close
# 1,000 accounts (two fsyncs each, one after the other: seconds on this
# disk), so the figure is the steady state of idle sessions, not the
# moment after their SELECT (8 s was too early: 32 KiB instead of 20).
IDLE_SETTLE = float(os.environ.get("BENCH_IDLE_SETTLE", "15"))
IDLE_PARALLEL = 100                               # connections being set up at once
IDLE_PARALLEL_FIRST = 16                          # the same for first logins (hashed)


def idle_user(i):
	return "idle%d@%s" % (i, DOMAIN)


def idle_source(i):
	"""Each account's connections come from a loopback address of its own
	(127.1.x.y), as its user's devices would: both servers bound the
	connections and pace the logins per address."""
	return "127.1.%d.%d" % (i // 250, i % 250 + 1)


def idle_cert(top):
	"""One self-signed ECDSA P-256 pair for both servers, so that both
	do the same handshake and keep the same key."""
	cert, key = os.path.join(top, "idle-cert.pem"), os.path.join(top, "idle-key.pem")
	p = subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
			    "ec_paramgen_curve:prime256v1", "-nodes", "-subj", "/CN=bench.test",
			    "-days", "2", "-keyout", key, "-out", cert], capture_output=True, text=True)
	if p.returncode != 0:
		raise BenchError("openssl req: %s" % p.stderr.strip()[-300:])
	for f in (cert, key):
		os.chmod(f, 0o644)
	return cert, key


def idle_clone_account(src, dst):
	"""An account folder copied from another (DESIGN 5: a user's folder is
	self-contained): index.db and its companions copied, the immutable
	message files hard-linked. Much faster than importing every account."""
	os.makedirs(os.path.join(dst, "msg"), mode=0o700)
	for name in os.listdir(src):
		if name != "msg":
			shutil.copy2(os.path.join(src, name), os.path.join(dst, name))
	for name in os.listdir(os.path.join(src, "msg")):
		os.link(os.path.join(src, "msg", name), os.path.join(dst, "msg", name))
	if benchlib.AS_ROOT:
		for path in (dst, os.path.join(dst, "msg")) + tuple(os.path.join(dst, n) for n in os.listdir(dst)):
			os.chown(path, benchlib.NOBODY_UID, benchlib.NOBODY_GID)


class IdleTern(Tern):
	def __init__(self, top, cert, key):
		super().__init__(top)
		self.tls_port = benchlib.free_port()
		self.sets.update({
			"listen.imaps": "127.0.0.1:%d" % self.tls_port,
			"tls.cert": cert, "tls.key": key,
			# the verified-login cache is a fixed table: a few of 1,000
			# accounts miss it and are hashed again, and when 100 such
			# logins come at once the default queue (64) would refuse some
			"auth.hash_queue": str(IDLE_CONNS),
			"limits.connections": str(IDLE_CONNS + 1000),
			"limits.connections_per_ip": str(IDLE_CONNS // IDLE_ACCOUNTS + 50),
		})

	def setup(self, n_accounts, sha_hash, maildir):
		self.cmd("domain", "add", DOMAIN)
		for i in range(n_accounts + 1):
			self.cmd("user", "add", idle_user(i), "--hash", "{SHA512-CRYPT}" + sha_hash)
		# account 0 is imported, the others are copies of it; the last is
		# the warm-up login's, outside the measured connections
		self.cmd("import", "maildir", idle_user(0), maildir, timeout=600)
		base = os.path.join(self.data, "mail", DOMAIN)
		for i in range(1, n_accounts + 1):
			idle_clone_account(os.path.join(base, "idle0"), os.path.join(base, "idle%d" % i))


class IdleDovecot(Dovecot):
	def __init__(self, top, cert, key):
		benchlib.Dovecot.__init__(self, top, "imap_bench.py", "imap", plimit=IDLE_DOVECOT_CONNS + 100,
					  climit=IDLE_DOVECOT_CONNS * 4 + 400, tls=(cert, key),
					  extra="mail_max_userip_connections = %d\n" %
					  (IDLE_DOVECOT_CONNS // IDLE_DOVECOT_ACCOUNTS + 50))

	def setup(self, n_accounts, sha_hash, maildir):
		users = [idle_user(i) for i in range(n_accounts + 1)]
		super().setup(users, sha_hash, dict.fromkeys(users, maildir))


async def idle_open(port, ctx, account, conns):
	"""One connection: LOGIN, SELECT INBOX, IDLE, and kept open in IDLE."""
	reader, writer = await asyncio.wait_for(asyncio.open_connection(
		"127.0.0.1", port, ssl=ctx, local_addr=(idle_source(account), 0),
		server_hostname="bench.test" if ctx is not None else None), IO_TIMEOUT)

	async def answer(tag):
		while True:
			line = await asyncio.wait_for(reader.readline(), IO_TIMEOUT)
			if not line:
				raise BenchError("server closed the connection")
			if line.startswith(tag):
				return line

	await answer(b"* ")
	for tag, text in ((b"a", b'LOGIN "%s" "%s"' % (idle_user(account).encode(), PASSWORD.encode())),
			  (b"b", b"SELECT INBOX")):
		writer.write(tag + b" " + text + b"\r\n")
		line = await answer(tag + b" ")
		if not line.startswith(tag + b" OK"):
			raise BenchError("%s -> %s" % (text[:20], line.strip()[:200]))
	writer.write(b"c IDLE\r\n")
	await answer(b"+")
	conns.append(writer)


async def idle_open_all(port, ctx, n_conns, n_accounts, conns):
	"""n_conns connections, account after account in turn: first one
	per account (an uncached login: its password hash runs, so at most
	IDLE_PARALLEL_FIRST at once, as a server's hash queue is bounded),
	then the others, IDLE_PARALLEL at once."""
	async def one(gate, k):
		async with gate:
			await idle_open(port, ctx, k % n_accounts, conns)

	first = min(n_conns, n_accounts)
	gate = asyncio.Semaphore(IDLE_PARALLEL_FIRST)
	results = await asyncio.gather(*(one(gate, k) for k in range(first)), return_exceptions=True)
	gate = asyncio.Semaphore(IDLE_PARALLEL)
	results += await asyncio.gather(*(one(gate, k) for k in range(first, n_conns)),
					return_exceptions=True)
	failed = [r for r in results if isinstance(r, BaseException)]
	if failed:
		raise BenchError("%d of %d connections failed, first: %r" % (len(failed), n_conns, failed[0]))


def idle_measure(srv, port, tls, n_conns, n_accounts):
	"""(KiB per connection at once, after IDLE_SETTLE s; server processes)."""
	ctx = None
	if tls:
		ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
		ctx.check_hostname = False
		ctx.verify_mode = ssl.CERT_NONE
	loop = asyncio.new_event_loop()
	conns = []
	try:
		# warm-up: a login and SELECT on the spare account, so that what
		# starts on demand (Dovecot's auth and config processes, tern's
		# pool threads) is in the baseline
		loop.run_until_complete(idle_open(port, ctx, n_accounts, conns))
		for w in conns:
			w.close()
		conns.clear()
		time.sleep(IDLE_SETTLE)
		before, _, _ = benchlib.tree_memory(srv.pid)
		t = time.monotonic()
		loop.run_until_complete(idle_open_all(port, ctx, n_conns, n_accounts, conns))
		log("%s: %d connections in IDLE (%s) in %.1f s" % (srv.name, n_conns, "TLS" if tls else "plain",
								 time.monotonic() - t))
		now, _, _ = benchlib.tree_memory(srv.pid)
		time.sleep(IDLE_SETTLE)
		settled, _, procs = benchlib.tree_memory(srv.pid)
		return (now - before) / n_conns, (settled - before) / n_conns, procs
	finally:
		for w in conns:
			w.close()
		loop.run_until_complete(asyncio.sleep(0.5))
		loop.close()


def idle_bench(top, servers):
	t_start = time.monotonic()
	sha_hash = crypt.crypt(PASSWORD, crypt.mksalt(crypt.METHOD_SHA512))
	cert, key = idle_cert(top)
	maildir = os.path.join(top, "src-idle")
	log("idle: writing the Maildir (%d messages) and %d accounts" % (IDLE_MSGS, IDLE_ACCOUNTS))
	write_maildir(maildir, IDLE_MSGS, small_message)
	only = os.environ.get("BENCH_SERVERS", "tern,dovecot").split(",")
	sides = []
	if "tern" in only:
		tern = IdleTern(top, cert, key)
		tern.setup(IDLE_ACCOUNTS, sha_hash, maildir)
		n_conns = idle_fit(IDLE_CONNS)
		if n_conns < IDLE_CONNS:
			log("idle: the descriptor limit carries %d tern connections, not %d" % (n_conns, IDLE_CONNS))
		sides.append((tern, n_conns, IDLE_ACCOUNTS))
	if "dovecot" in only:
		dtop = os.path.join(top, "dovecot-idle")
		os.mkdir(dtop, 0o755)
		dove = IdleDovecot(dtop, cert, key)
		dove.setup(IDLE_DOVECOT_ACCOUNTS, sha_hash, maildir)
		sides.append((dove, IDLE_DOVECOT_CONNS, IDLE_DOVECOT_ACCOUNTS))
	results = {}
	for srv, n_conns, n_accounts in sides:
		servers.append(srv)
		# a fresh server for each: memory freed by the first run would be
		# reused by the second without growing its Pss
		for tls in (True, False):
			srv.start()
			log("%s: %d idle connections over %d accounts, %s" %
			    (srv.name, n_conns, n_accounts, "TLS" if tls else "plain"))
			results[srv.name, tls] = idle_measure(srv, srv.tls_port if tls else srv.port, tls,
							      n_conns, n_accounts)
			srv.stop()
	print()
	print(machine_line())
	print("idle IMAP connections in IDLE after LOGIN and SELECT INBOX (%d messages per INBOX);"
	      % IDLE_MSGS)
	print("KiB per connection = growth of Pss over the server's process tree / connections")
	print("%-10s %-6s %8s %9s %10s %10s %6s" % ("server", "", "conns", "accounts", "at once",
						     "settled", "procs"))
	for srv, n_conns, n_accounts in sides:
		for tls in (True, False):
			now, settled, procs = results[srv.name, tls]
			print("%-10s %-6s %8d %9d %10.1f %10.1f %6d" % (srv.name, "TLS" if tls else "plain", n_conns,
								      n_accounts, now, settled, procs))
	print("settled = %.0f s after the last IDLE (past tern's account_linger and its closing of the"
	      " accounts);" % IDLE_SETTLE)
	print("goal (issue 8): at most 25 KB per idle TLS connection")
	print("idle run: %.0f s" % (time.monotonic() - t_start))
	return 0


# ---------------------------------------------------------------- main

def main():
	if not os.path.exists(TERN_BIN):
		raise BenchError("%s not found; run `make build`" % TERN_BIN)
	if not os.path.exists(DOVECOT_BIN):
		raise BenchError("%s not found; run `sh scripts/deps.sh bench`" % DOVECOT_BIN)
	raise_nofile(IDLE_CONNS * 2 + 4096)
	parts = os.environ.get("BENCH_IMAP_PARTS", "timings,idle").split(",")
	status = 0
	if "timings" in parts:
		status |= benchlib.run("tern-imap-bench-", DEADLINE, bench)
	if "idle" in parts:
		status |= benchlib.run("tern-imap-idle-", DEADLINE, idle_bench)
	return status


def raise_nofile(want):
	"""The descriptor limit of this client and the servers it starts: the
	soft one up to `want`, and as root the hard one too (up to
	fs.nr_open), since 10,000 connections need more than 20,000."""
	soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
	if hard != resource.RLIM_INFINITY and hard < want and benchlib.AS_ROOT:
		try:
			with open("/proc/sys/fs/nr_open") as f:
				ceiling = min(want, int(f.read()))
			resource.setrlimit(resource.RLIMIT_NOFILE, (ceiling, ceiling))
			hard = ceiling
		except (OSError, ValueError):
			pass    # no CAP_SYS_RESOURCE (a container): the hard limit stays
	soft = want if hard == resource.RLIM_INFINITY else min(want, hard)
	resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def idle_fit(n_conns):
	"""The connections an IMAP-only tern takes under this descriptor
	limit without closing any: it fits [limits] connections to the limit
	(2 descriptors per IMAP connection after a reserve of 64 + 16 per I/O
	thread), and above 90 % of that closes the oldest connection still
	waiting to log in for each new one. Less a margin for the warm-up
	connection and those being set up."""
	_, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
	if hard == resource.RLIM_INFINITY:
		return n_conns
	fit = (hard - 64 - 16 * (os.cpu_count() or 1)) // 2 * 9 // 10 - IDLE_PARALLEL
	return min(n_conns, fit)


def huge_rows(t, d, ms):
	"""The rows of the QRESYNC and huge-mailbox sections."""
	row("QRESYNC SELECT, %d+%d changed (ms)" % (QRESYNC_CHANGES, QRESYNC_CHANGES),
	    ms(t, "qresync"), ms(d, "qresync"), 1,
	    "flags + expunges in %d; best of %d; goal 1.5" % (BIG, RUNS), True)
	if not HUGE:
		return
	row("SELECT, %d messages (ms)" % HUGE, ms(t, "huge_select"), ms(d, "huge_select"), 1,
	    "best of %d, warm; goal 1.5" % RUNS, True)
	row("  first SELECT, %d messages (ms)" % HUGE, ms(t, "huge_first"), ms(d, "huge_first"), 0,
	    "cold; dovecot builds its index", True)
	row("FETCH 1:* (UID FLAGS), %d messages (ms)" % HUGE, ms(t, "huge_flags"),
	    ms(d, "huge_flags"), 1, "once, warm", True)
	row("  session with %d selected (KiB)" % HUGE, t.get("huge_session_kib"),
	    d.get("huge_session_kib"), 0, "Rss growth of the tree; lower is better", True)
	row("  FETCH 1:* (UID FLAGS) peak on top (KiB)", t.get("huge_fetch_kib"),
	    d.get("huge_fetch_kib"), 0, "Rss, sampled every 20 ms", True)


def bench(top, servers):
	t_start = time.monotonic()
	big, mid, huge = "big@" + DOMAIN, "mid@" + DOMAIN, "huge@" + DOMAIN
	load_users = ["load%d@%s" % (i, DOMAIN) for i in range(LOAD_CLIENTS)]
	users = [big, mid] + load_users + ([huge] if HUGE else [])
	sha_hash = crypt.crypt(PASSWORD, crypt.mksalt(crypt.METHOD_SHA512))

	log("writing the Maildirs (%d + %d + %d x %d messages)" % (BIG, MID, LOAD_CLIENTS, LOAD_MSGS))
	src = {big: os.path.join(top, "src-big"), mid: os.path.join(top, "src-mid"),
	       "load": os.path.join(top, "src-load")}
	write_maildir(src[big], BIG, small_message)
	write_maildir(src[mid], MID, mime_message)
	write_maildir(src["load"], LOAD_MSGS, mime_message)
	maildirs = {big: src[big], mid: src[mid]}
	maildirs.update({u: src["load"] for u in load_users})
	if HUGE:
		log("writing the huge Maildir (%d messages)" % HUGE)
		src[huge] = maildirs[huge] = os.path.join(top, "src-huge")
		write_maildir(src[huge], HUGE, tiny_message)

	log("setting up tern (tern import maildir)")
	tern = Tern(top)
	tern.setup(users, sha_hash, maildirs)
	log("setting up dovecot")
	dtop = os.path.join(top, "dovecot")
	os.mkdir(dtop, 0o755)
	dove = Dovecot(dtop)
	dove.setup(users, sha_hash, maildirs)

	results = {}
	n_needle = len([i for i in range(MID) if i % 50 == 7])
	only = os.environ.get("BENCH_SERVERS", "tern,dovecot").split(",")
	for srv in (tern, dove):
		if srv.name not in only:
			continue
		servers.append(srv)
		srv.start()
		r = results.setdefault(srv.name, {})
		log("%s: first SELECT of each mailbox (untimed: builds indexes)" % srv.name)
		for u in users:
			c = Imap(srv.port, timeout=DEADLINE)
			c.login(u)
			t = time.monotonic()
			c.cmd(b"SELECT INBOX")
			if u == huge:
				r["huge_first"] = time.monotonic() - t
			c.close()
		log("%s: SELECT of %d messages, best of %d" % (srv.name, BIG, RUNS))
		r["select"] = measure_select(srv, big, BIG)
		log("%s: FETCH 1:* (UID FLAGS)" % srv.name)
		r["flags"] = measure_fetch(srv, big, b"FETCH 1:* (UID FLAGS)", BIG)
		log("%s: FETCH 1:* BODYSTRUCTURE of %d" % (srv.name, MID))
		r["bodystructure"] = measure_fetch(srv, mid, b"FETCH 1:* (BODYSTRUCTURE)", MID)
		log("%s: SEARCH TEXT over %d" % (srv.name, MID))
		r["search"] = measure_fetch(srv, mid, b"SEARCH TEXT %s" % NEEDLE.encode(), 1)
		log("%s: mixed load, %d clients, %.0f s" % (srv.name, LOAD_CLIENTS, LOAD_SECONDS))
		r["load"] = measure_load(srv, load_users)
		if offers(srv, big, b"QRESYNC"):
			log("%s: QRESYNC SELECT after %d flag changes and %d expunges on %d" %
			    (srv.name, QRESYNC_CHANGES, QRESYNC_CHANGES, BIG))
			r["qresync"] = measure_qresync(srv, big, qresync_prepare(srv, big, BIG))
		else:
			log("%s: no QRESYNC in CAPABILITY, its SELECT is not measured" % srv.name)
		if HUGE:
			log("%s: SELECT and FETCH 1:* (UID FLAGS) of %d messages" % (srv.name, HUGE))
			r.update(measure_huge(srv, huge))
		srv.stop()
	warnings_seen = dove.log_warnings()

	t, d = results.get("tern", {}), results.get("dovecot", {})
	print()
	print(machine_line())
	print("tern: %s (%s)   dovecot: %s" % (tern.version(), TERN_BIN, dovecot_version()))
	print("load generator: bench/imap_bench.py, /usr/bin/python3 %s, same code for both, on this machine"
	      % sys.version.split()[0])
	print()
	print("%-44s %10s %10s %7s" % ("figure", "tern", "dovecot", "ratio"))
	def ms(r, key):
		return r[key] * 1000 if key in r else None
	row("SELECT, %d messages (ms)" % BIG, ms(t, "select"), ms(d, "select"), 1,
	    "best of %d; lower is better" % RUNS, True)
	row("FETCH 1:* (UID FLAGS), %d messages (ms)" % BIG, ms(t, "flags"), ms(d, "flags"), 1,
	    "best of %d, warm" % RUNS, True)
	row("FETCH 1:* BODYSTRUCTURE, %d messages (ms)" % MID, ms(t, "bodystructure"),
	    ms(d, "bodystructure"), 1, "best of %d, warm (cached)" % RUNS, True)
	row("SEARCH TEXT, %d messages (ms)" % MID, ms(t, "search"), ms(d, "search"), 1,
	    "best of %d, warm; %d hits; no FTS" % (RUNS, n_needle), True)
	row("mixed load, %d clients (commands/s)" % LOAD_CLIENTS, t.get("load"), d.get("load"), 0,
	    "%.0f s; higher is better" % LOAD_SECONDS, False)
	huge_rows(t, d, ms)
	print("ratio = how many times faster tern is (dovecot time / tern time; tern rate / dovecot rate).")
	print("mixed load: each client loops LOGIN, SELECT, FETCH 1:* (UID FLAGS), FETCH n BODY.PEEK[],")
	print("STORE n +FLAGS, APPEND, NOOP, STORE * +FLAGS.SILENT (\\Deleted), EXPUNGE, LOGOUT on its own")
	print("account (%d messages); SHA512-CRYPT passwords for both, tern's login cache at its default."
	      % LOAD_MSGS)
	if huge in tern.import_seconds:
		print("setup: tern import maildir of the %d messages took %.0f s (%.0f messages/s)"
		      % (HUGE, tern.import_seconds[huge], HUGE / tern.import_seconds[huge]))
	if warnings_seen:
		print("dovecot log warnings/errors (%d), first: %s" % (len(warnings_seen), warnings_seen[0]))
	print("whole run: %.0f s" % (time.monotonic() - t_start))
	return 0


if __name__ == "__main__":
	benchlib.cli(main)
