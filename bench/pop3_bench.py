# pop3_bench - run tern and Dovecot's POP3 server side by side on loopback
# under one load generator (this file, stdlib only) and print a table of
# idle-connection memory, RETR throughput, login rate and the latency of a
# login during a burst of abandoned attempts. See bench/README.md.
import base64
import os
import resource
import shutil
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
		      log, machine_line, tree_memory)


IDLE_CONNS = env_int("BENCH_IDLE_CONNS", 500)     # figure 1: N idle sessions
MSGS = env_int("BENCH_MSGS", 200)                 # figure 2: messages per mailbox
MSG_SIZE = env_int("BENCH_MSG_SIZE", 50_000)      # bytes per message (LF form)
CLIENTS = env_int("BENCH_CLIENTS", 8)             # figure 2/3: parallel clients
RUNS = env_int("BENCH_RUNS", 3)                   # figure 2: best of
LOGIN_SECONDS = float(os.environ.get("BENCH_LOGIN_SECONDS", "4"))  # figure 3: per line
BURST = env_int("BENCH_BURST", 1000)              # figure 4: abandoned attempts per burst
BURST_RUNS = env_int("BENCH_BURST_RUNS", 3)       # figure 4: median of
DEADLINE = env_int("BENCH_DEADLINE", 420)         # whole run, then abort + clean up
IO_TIMEOUT = 30.0

DOMAIN = "bench.test"
PASSWORD = "Bench-Pass-42"


# ---------------------------------------------------------------- helpers

def make_message(i, size):
	"""A deterministic message of about `size` bytes, LF line ends, 76-octet
	lines that differ from each other (no run-length shortcuts anywhere)."""
	import hashlib
	head = (b"From: Sender <sender@example.org>\n"
		b"To: Bench <bench@bench.test>\n"
		b"Subject: Bench message %d\n"
		b"Date: Thu, 26 Nov 2026 10:00:00 +0000\n"
		b"Message-ID: <bench-%d@example.org>\n"
		b"MIME-Version: 1.0\n"
		b"Content-Type: text/plain; charset=us-ascii\n\n" % (i, i))
	lines, total, n = [head], len(head), 0
	while total < size:
		h = hashlib.sha256(b"bench-%d-%d" % (i, n)).hexdigest()
		line = (b"%08d " % n) + (h + h).encode()[:66] + b"\n"
		lines.append(line)
		total += len(line)
		n += 1
	return b"".join(lines)


def wire_size(msg):
	"""Octets of RETR's reply body as sent: CRLF, dot-stuffed (none needed
	here: no line starts with '.'), plus the terminating '.CRLF'."""
	return len(msg) + msg.count(b"\n") + 3


# ---------------------------------------------------------------- the client

class Pop3:
	"""A minimal POP3 client on a bare socket; the same code for both servers."""

	def __init__(self, port, source=None):
		"""source: the loopback address to connect from (None: 127.0.0.1)."""
		self.sock = socket.create_connection(("127.0.0.1", port), timeout=IO_TIMEOUT,
						     source_address=(source, 0) if source else None)
		self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
		self.buf = b""
		self.expect_ok(self.readline(), "greeting")

	def close(self):
		try:
			self.sock.close()
		except OSError:
			pass

	def readline(self):
		while True:
			i = self.buf.find(b"\r\n")
			if i >= 0:
				line, self.buf = self.buf[:i], self.buf[i + 2:]
				return line
			data = self.sock.recv(65536)
			if not data:
				raise BenchError("server closed the connection")
			self.buf += data

	@staticmethod
	def expect_ok(line, what):
		if not line.startswith(b"+OK"):
			raise BenchError("%s: %r" % (what, line[:200]))
		return line

	def cmd(self, line):
		self.sock.sendall(line + b"\r\n")
		return self.readline()

	def login(self, user, password=PASSWORD):
		self.expect_ok(self.cmd(b"USER " + user.encode()), "USER")
		self.expect_ok(self.cmd(b"PASS " + password.encode()), "PASS " + user)

	def quit(self):
		self.expect_ok(self.cmd(b"QUIT"), "QUIT")
		self.close()

	def retr(self, n):
		"""RETR n; returns the octets of the multi-line body incl. '.CRLF'.
		Only the tail is examined: '\\r\\n.\\r\\n' ends the reply."""
		self.sock.sendall(b"RETR %d\r\n" % n)
		self.expect_ok(self.readline(), "RETR")
		got = len(self.buf)
		tail = self.buf[-5:]
		if not (b"\r\n" + self.buf).endswith(b"\r\n.\r\n"):
			while True:
				data = self.sock.recv(262144)
				if not data:
					raise BenchError("closed during RETR")
				got += len(data)
				tail = (tail + data)[-5:]
				if tail.endswith(b"\r\n.\r\n") or (got == 3 and tail == b".\r\n"):
					break
		self.buf = b""
		return got


def client_address(i):
	"""Parallel client i connects from a loopback address of its own, as
	users on different machines do (tern paces parallel logins from one
	address, as if each attempt in flight had failed)."""
	return "127.0.0.%d" % (10 + i)


def run_threads(n, target):
	"""Run target(i, barrier) in n threads; re-raise the first error."""
	errors = []
	barrier = threading.Barrier(n + 1)

	def wrap(i):
		try:
			target(i, barrier)
		except BaseException as e:    # noqa: B902 - reported below
			errors.append(e)
			barrier.abort()

	threads = [threading.Thread(target=wrap, args=(i,), daemon=True) for i in range(n)]
	for t in threads:
		t.start()
	try:
		barrier.wait(timeout=120)
	except threading.BrokenBarrierError:
		pass
	t0 = time.monotonic()
	for t in threads:
		t.join(timeout=300)
	elapsed = time.monotonic() - t0
	if errors:
		raise errors[0]
	return elapsed


def measure_idle(server, users):
	"""Figure 1: Pss of the server's process tree before and after
	logging in len(users) sessions that then stay idle."""
	# One login first so that services started on demand (Dovecot's auth)
	# are in the baseline for both servers.
	c = Pop3(server.port)
	c.login(users[0])
	c.quit()
	time.sleep(1.0)
	before = tree_memory(server.pid)
	conns = []
	try:
		for u in users:
			c = Pop3(server.port)
			conns.append(c)
			c.login(u)
		time.sleep(1.5)
		for c in conns[:5]:   # still alive and logged in?
			c.expect_ok(c.cmd(b"NOOP"), "NOOP")
		after = tree_memory(server.pid)
	finally:
		for c in conns:
			c.close()
	n = len(users)
	return {"per_conn": (after[0] - before[0]) / n, "before": before, "after": after, "n": n}


def measure_retr(server, users, expect_octets):
	"""Figure 2: len(users) clients in parallel, each RETRs its whole
	mailbox; best of RUNS. Returns (MB/s, messages/s)."""
	best = None
	for _ in range(RUNS):
		octets = [0] * len(users)

		def client(i, barrier):
			c = Pop3(server.port, client_address(i))
			c.login(users[i])
			barrier.wait(timeout=120)
			total = 0
			for n in range(1, MSGS + 1):
				total += c.retr(n)
			c.quit()
			octets[i] = total

		elapsed = run_threads(len(users), client)
		for got in octets:
			if got != expect_octets:
				raise BenchError("%s: RETR returned %d octets per mailbox, expected %d" %
						 (server.name, got, expect_octets))
		mbs = sum(octets) / elapsed / 1e6
		msgs = MSGS * len(users) / elapsed
		if best is None or mbs > best[0]:
			best = (mbs, msgs)
	return best


def measure_login(server, users, parallel):
	"""Figure 3: connect + USER/PASS + QUIT for LOGIN_SECONDS; each of
	`parallel` clients cycles over its own share of users. Returns logins/s."""
	counts = [0] * parallel
	share = [users[i::parallel] for i in range(parallel)]

	def client(i, barrier):
		barrier.wait(timeout=120)
		end = time.monotonic() + LOGIN_SECONDS
		k = 0
		while time.monotonic() < end:
			c = Pop3(server.port, client_address(i))
			try:
				c.login(share[i][k % len(share[i])])
				c.quit()
			finally:
				c.close()
			k += 1
		counts[i] = k

	elapsed = run_threads(parallel, client)
	return sum(counts) / elapsed


def abandon(port, source, line):
	"""One attempt of the burst: connect from `source`, send the AUTH, read
	the greeting (so that the close is a FIN rather than a reset, which
	would make a server drop the connection before reading the AUTH) and
	hang up without waiting for the answer."""
	s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
	s.settimeout(IO_TIMEOUT)
	try:
		s.bind((source, 0))
		s.connect(("127.0.0.1", port))
		s.sendall(line)
		s.recv(512)
	except OSError:
		pass
	finally:
		s.close()


def measure_burst(server, user, targets):
	"""Figure 4: BURST wrong-password AUTH PLAIN attempts against `targets`
	(existing accounts), from 250 loopback addresses, by 8 threads, each
	abandoned at once; 50 ms into the burst `user` logs in (connect,
	greeting, USER, PASS, QUIT, from 127.0.0.1). Returns the median of
	BURST_RUNS bursts of that login's latency, in seconds."""
	lines = [b"AUTH PLAIN " + base64.b64encode(b"\0" + t.encode() + b"\0wrong-guess") + b"\r\n"
		 for t in targets]
	latencies = []
	for _ in range(BURST_RUNS):
		def flood(k):
			for i in range(k, BURST, 8):
				abandon(server.port, "127.1.%d.%d" % (i // 250, i % 250 + 1), lines[i % len(lines)])

		threads = [threading.Thread(target=flood, args=(k,), daemon=True) for k in range(8)]
		for t in threads:
			t.start()
		time.sleep(0.05)
		t0 = time.monotonic()
		c = Pop3(server.port)
		c.login(user)
		c.quit()
		latencies.append(time.monotonic() - t0)
		for t in threads:
			t.join(timeout=120)
		time.sleep(3)   # let the server finish with the burst
	return sorted(latencies)[len(latencies) // 2]


# ---------------------------------------------------------------- servers

class Tern(benchlib.Tern):
	def __init__(self, top):
		super().__init__(top)
		self.sets.update({
			"listen.pop3": "127.0.0.1:%d" % self.port,
			"auth.allow_plaintext_loopback": "yes",
			# keep the imported SHA512-CRYPT hashes as they are (tern would
			# replace them by argon2id at the first login), so that the
			# SHA512-CRYPT lines compare like with like
			"auth.rehash": "no",
			"limits.connections_per_ip": str(IDLE_CONNS + 100),
			"log.level": "warn",
		})

	def setup(self, idle_users, argon_users, retr_users, sha_hash, maildir):
		self.cmd("domain", "add", DOMAIN)
		for u in idle_users:
			self.cmd("user", "add", u, "--hash", "{SHA512-CRYPT}" + sha_hash)
		for u in argon_users + retr_users:
			self.cmd("user", "add", u, stdin=PASSWORD + "\n")
		for u in retr_users:
			self.cmd("import", "maildir", u, maildir)

	def start(self):
		# log.level=warn keeps 500 logins out of the log: poll the port.
		super().start(lambda: Pop3(self.port).close())


class Dovecot(benchlib.Dovecot):
	def __init__(self, top, performance=False):
		# Debian's default is high-security mode: a new pop3-login process
		# per connection (service_count = 1). Performance mode reuses them.
		extra = ""
		if performance:
			extra = "  service_count = 0\n  process_min_avail = %d\n" % (os.cpu_count() or 1)
		super().__init__(top, "pop3_bench.py", "pop3", plimit=IDLE_CONNS + 200,
				 climit=4 * (IDLE_CONNS + 200),
				 name="dovecot-perf" if performance else "dovecot", login_extra=extra)

	def setup(self, users, sha_hash, retr_users, maildir):
		self.write_passwd(users, sha_hash)
		for u in users:
			md = os.path.join(self.top, "home", u, "Maildir")
			if u in retr_users:
				shutil.copytree(maildir, md)
			else:
				for sub in ("cur", "new", "tmp"):
					os.makedirs(os.path.join(md, sub))
		chown_tree(os.path.join(self.top, "home"))

	def start(self):
		super().start(lambda: Pop3(self.port).close())


# ---------------------------------------------------------------- report

def fmt(v, digits):
	return "-" if v is None else ("%.*f" % (digits, v))


def row(label, t, d, digits=1, note=""):
	ratio = "-" if (t is None or d is None or d == 0) else "%.2f" % (t / d)
	print("%-44s %10s %10s %7s  %s" % (label, fmt(t, digits), fmt(d, digits), ratio, note))


# ---------------------------------------------------------------- main

def main():
	if not os.path.exists(TERN_BIN):
		raise BenchError("%s not found; run `make build`" % TERN_BIN)
	if not os.path.exists(DOVECOT_BIN):
		raise BenchError("%s not found; run `sh scripts/deps.sh bench`" % DOVECOT_BIN)
	soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
	want = 4 * IDLE_CONNS + 1000
	if soft < want:
		resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(want, soft)) if hard != resource.RLIM_INFINITY else want, hard))

	return benchlib.run("tern-bench-", DEADLINE, bench)


def bench(top, servers):
	t_start = time.monotonic()
	idle_users = ["idle%d@%s" % (i, DOMAIN) for i in range(IDLE_CONNS)]
	argon_users = ["argon%d@%s" % (i, DOMAIN) for i in range(2 * CLIENTS)]
	retr_users = ["retr%d@%s" % (i, DOMAIN) for i in range(CLIENTS)]
	login_users = idle_users[:2 * CLIENTS]
	sha_hash = crypt.crypt(PASSWORD, crypt.mksalt(crypt.METHOD_SHA512))

	# One Maildir, the same bytes for both: Dovecot serves a copy of it,
	# tern imports it. Names carry Dovecot's S= and W= sizes, as a real
	# Dovecot Maildir does.
	src = os.path.join(top, "src-Maildir")
	for sub in ("cur", "new", "tmp"):
		os.makedirs(os.path.join(src, sub))
	expect_octets = 0
	for i in range(MSGS):
		m = make_message(i, MSG_SIZE)
		expect_octets += wire_size(m)
		name = "17000%05d.M%dP1.bench,S=%d,W=%d:2,S" % (i, i, len(m), len(m) + m.count(b"\n"))
		with open(os.path.join(src, "cur", name), "wb") as f:
			f.write(m)
	for root, dirs, files in os.walk(src):
		os.chmod(root, 0o755)
		for f in files:
			os.chmod(os.path.join(root, f), 0o644)

	log("setting up tern (%d accounts, %d imports of %d messages)" %
	    (len(idle_users) + len(argon_users) + len(retr_users), len(retr_users), MSGS))
	tern = Tern(top)
	tern.setup(idle_users, argon_users, retr_users, sha_hash, src)
	log("setting up dovecot")
	dtop = os.path.join(top, "dovecot")
	os.mkdir(dtop, 0o755)
	dove = Dovecot(dtop)
	dove.setup(idle_users + retr_users, sha_hash, set(retr_users), src)

	results = {}

	def bench_server(srv, login_sets, retr=True, idle=True, burst=None):
		if srv not in servers:
			servers.append(srv)
		srv.start()
		r = results.setdefault(srv.name, {})
		if idle:
			log("%s: idle memory, %d sessions" % (srv.name, IDLE_CONNS))
			r["idle"] = measure_idle(srv, idle_users)
		if retr:
			# Warm-up: each mailbox listed once (Dovecot builds its index,
			# both get the files into the page cache by the first run).
			for u in retr_users:
				c = Pop3(srv.port)
				c.login(u)
				c.expect_ok(c.cmd(b"STAT"), "STAT")
				c.quit()
			log("%s: RETR, %d clients x %d x %d B, best of %d" % (srv.name, CLIENTS, MSGS, MSG_SIZE, RUNS))
			r["retr"] = measure_retr(srv, retr_users, expect_octets)
		for key, users in login_sets.items():
			log("%s: login rate (%s)" % (srv.name, key))
			r["login_seq_" + key] = measure_login(srv, users, 1)
			r["login_par_" + key] = measure_login(srv, users, CLIENTS)
		if burst is not None:
			key, user = burst
			log("%s: login during bursts of %d abandoned attempts (%s)" % (srv.name, BURST, key))
			c = Pop3(srv.port)   # the user has logged in before (a polling client)
			c.login(user)
			c.quit()
			r["burst_" + key] = measure_burst(srv, user, idle_users)
		srv.stop()

	# tern as configured by default (verified-login cache on), then with
	# the cache off, so the hash cost itself is compared like for like
	# (Dovecot's auth_cache is off by default).
	bench_server(tern, {"argon2_cached": argon_users}, burst=("cached", argon_users[0]))
	tern.sets["auth.cache_ttl"] = "0"
	bench_server(tern, {"argon2": argon_users, "sha": login_users}, retr=False, idle=False,
		     burst=("uncached", argon_users[1]))
	bench_server(dove, {"sha": login_users}, burst=("sha", login_users[0]))
	ptop = os.path.join(top, "dovecot-perf")
	os.mkdir(ptop, 0o755)
	perf = Dovecot(ptop, performance=True)
	perf.setup(idle_users + retr_users, sha_hash, set(), src)
	bench_server(perf, {"sha": login_users}, retr=False, burst=("sha", login_users[0]))
	warnings_seen = dove.log_warnings() + perf.log_warnings()

	t, d, p = results["tern"], results["dovecot"], results["dovecot-perf"]
	print()
	print(machine_line())
	print("tern: %s (%s)   dovecot: %s" % (tern.version(), TERN_BIN, dovecot_version()))
	print("load generator: bench/pop3_bench.py, /usr/bin/python3 %s, same code for both, on this machine"
	      % sys.version.split()[0])
	print()
	print("%-44s %10s %10s %7s" % ("figure", "tern", "dovecot", "ratio"))
	row("idle conn memory, Pss (KiB/conn)", t["idle"]["per_conn"], d["idle"]["per_conn"], 1,
	    "N=%d; lower is better" % IDLE_CONNS)
	row("RETR throughput (MB/s)", t["retr"][0], d["retr"][0], 1,
	    "%d clients, best of %d; higher is better" % (CLIENTS, RUNS))
	row("RETR throughput (messages/s)", t["retr"][1], d["retr"][1], 0, "")
	row("login rate, 1 client, tern default", t["login_seq_argon2_cached"], d["login_seq_sha"], 0,
	    "tern argon2id + login cache vs dovecot SHA512-CRYPT")
	row("login rate, %d clients, tern default" % CLIENTS, t["login_par_argon2_cached"],
	    d["login_par_sha"], 0, "tern argon2id + login cache vs dovecot SHA512-CRYPT")
	print("with tern's login cache off (auth.cache_ttl=0):")
	row("login rate, 1 client (logins/s)", t["login_seq_sha"], d["login_seq_sha"], 0,
	    "both SHA512-CRYPT")
	row("login rate, %d clients (logins/s)" % CLIENTS, t["login_par_sha"], d["login_par_sha"], 0,
	    "both SHA512-CRYPT")
	row("login rate, 1 client, tern argon2id", t["login_seq_argon2"], d["login_seq_sha"], 0,
	    "tern argon2id vs dovecot SHA512-CRYPT")
	row("login rate, %d clients, tern argon2id" % CLIENTS, t["login_par_argon2"], d["login_par_sha"], 0,
	    "tern argon2id vs dovecot SHA512-CRYPT")
	row("login during a %d-attempt burst (ms)" % BURST, t["burst_cached"] * 1000,
	    d["burst_sha"] * 1000, 1, "median of %d; tern default vs dovecot; lower is better" % BURST_RUNS)
	row("  same, tern's login cache off", t["burst_uncached"] * 1000, d["burst_sha"] * 1000, 1,
	    "tern argon2id hashed vs dovecot SHA512-CRYPT")
	print("dovecot performance mode (pop3-login service_count=0, process_min_avail=%d):" % (os.cpu_count() or 1))
	row("  idle conn memory, Pss (KiB/conn)", t["idle"]["per_conn"], p["idle"]["per_conn"], 1, "")
	row("  login rate, 1 client (logins/s)", t["login_seq_sha"], p["login_seq_sha"], 0, "both SHA512-CRYPT")
	row("  login rate, %d clients (logins/s)" % CLIENTS, t["login_par_sha"], p["login_par_sha"], 0,
	    "both SHA512-CRYPT")
	row("  login during a %d-attempt burst (ms)" % BURST, t["burst_cached"] * 1000,
	    p["burst_sha"] * 1000, 1, "tern default")
	print()
	for name, r in (("tern", t), ("dovecot", d), ("dovecot-perf", p)):
		i = r["idle"]
		print("%-13s server Pss %6.1f -> %6.1f MiB (Rss sum %6.1f -> %6.1f MiB), processes %d -> %d" %
		      (name, i["before"][0] / 1024, i["after"][0] / 1024, i["before"][1] / 1024,
		       i["after"][1] / 1024, i["before"][2], i["after"][2]))
	print("ratio = tern / dovecot. Hash cost: argon2id t=3 m=32MiB (tern's default for new "
	      "passwords) vs SHA512-CRYPT 5000 rounds;")
	print("it dominates uncached login rate, so the SHA512-CRYPT lines are the like-for-like ones;")
	print("'tern default' logs the same users in again and again, as polling clients do, and")
	print("measures tern's verified-login cache (auth.cache_ttl, on by default).")
	if warnings_seen:
		print("dovecot log warnings/errors (%d), first: %s" % (len(warnings_seen), warnings_seen[0]))
	print("whole run: %.0f s" % (time.monotonic() - t_start))
	return 0


if __name__ == "__main__":
	benchlib.cli(main)
