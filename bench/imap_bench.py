# imap_bench - run tern and Dovecot's IMAP server side by side on loopback
# under one load generator (this file, stdlib only) and print a table:
# SELECT of a 100,000-message mailbox, FETCH 1:* (UID FLAGS) on it, FETCH
# BODYSTRUCTURE of 10,000 messages, SEARCH TEXT over 10,000 messages, and
# a mixed load of 50 concurrent clients; a QRESYNC SELECT after 1,000 flag
# changes and 1,000 expunges on the 100,000-message mailbox, and SELECT and
# FETCH 1:* (UID FLAGS) of a 1,000,000-message one. See bench/README.md.
import multiprocessing
import os
import random
import resource
import signal
import socket
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


# ---------------------------------------------------------------- main

def main():
	if not os.path.exists(TERN_BIN):
		raise BenchError("%s not found; run `make build`" % TERN_BIN)
	if not os.path.exists(DOVECOT_BIN):
		raise BenchError("%s not found; run `sh scripts/deps.sh bench`" % DOVECOT_BIN)
	soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
	if soft < 4096 and (hard == resource.RLIM_INFINITY or hard >= 4096):
		resource.setrlimit(resource.RLIMIT_NOFILE, (4096, hard))
	return benchlib.run("tern-imap-bench-", DEADLINE, bench)


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
	try:
		sys.exit(main())
	except BenchError as e:
		log("FAILED: %s" % e)
		sys.exit(1)
