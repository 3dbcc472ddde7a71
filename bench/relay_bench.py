# relay_bench - tern against Postfix as the relay of a submission server
# (issue 9): users' mail clients submit with AUTH on instance A (tern) or
# P (Postfix, with Dovecot's auth service for SASL), which relays it to
# the same receiving tern, B, by a fixed route. Measured: messages per
# second from the first submission until every message is in its mailbox
# at B, at 10 and 50 concurrent submitters, the rate of acceptance at
# A/P, and each sender's peak memory. tern signs every message with DKIM;
# Postfix does not. See bench/README.md.
import os
import socket
import subprocess
import time
import warnings

with warnings.catch_warnings():
	warnings.simplefilter("ignore", DeprecationWarning)
	import crypt

import benchlib
from benchlib import (AS_ROOT, DOVECOT_BIN, POSTFIX_BIN, SMTP_SINK, TERN_BIN, BenchError, Counter, DeadlineError,
		      Sampler, env_int, env_list, log, machine_line, smtp_greeting, tree_cpu)

ACCOUNTS = env_int("BENCH_RELAY_ACCOUNTS", 100)             # at B, one domain
SESSIONS = env_list("BENCH_RELAY_SESSIONS", "10,50")        # concurrent submitters per run
MESSAGES = env_list("BENCH_RELAY_MESSAGES", "3000,3000")    # messages per run
PER_SESSION = env_int("BENCH_RELAY_PER_SESSION", 1)         # messages per submission session
MSG_LEN = env_int("BENCH_RELAY_MSG_LEN", 4096)              # body octets
DRAIN_TIMEOUT = env_int("BENCH_RELAY_DRAIN", 120)           # s after the last 250, then give up
DEADLINE = env_int("BENCH_DEADLINE", 420)                   # whole run, then abort + clean up
SETTLE = float(os.environ.get("BENCH_RELAY_SETTLE", "1"))    # s between two runs
GOAL = 2.0                                                  # tern / Postfix, issue 9

# The loopback addresses of the bench (tests/e2e's relay tests use others).
B_ADDR = os.environ.get("BENCH_RELAY_B", "127.0.0.10")
A_ADDR = os.environ.get("BENCH_RELAY_A", "127.0.0.11")
P_ADDR = os.environ.get("BENCH_RELAY_P", "127.0.0.12")
B_PORT = env_int("BENCH_RELAY_B_PORT", 25)

DOMAIN = "bench.test"         # B's: 1user@bench.test ... 100user@bench.test
LOCAL = "user"
SENDER_DOMAIN = "relay.test"  # A's, with a DKIM key
SENDER = "sender@" + SENDER_DOMAIN
PASSWORD = "Bench-Pass-42"
SUBMIT_LOAD = os.environ.get("SUBMIT_LOAD", os.path.join(os.path.dirname(TERN_BIN), "submit-load"))


# ---------------------------------------------------------------- the load

def submit(host, port, sessions, messages):
	"""submit-load: `messages` messages over `sessions` concurrent
	submission sessions of PER_SESSION messages each, message k to
	account k mod ACCOUNTS + 1. Returns the instant it exited, every
	message accepted."""
	argv = [SUBMIT_LOAD, host, str(port), SENDER, PASSWORD, str(sessions), str(messages), str(PER_SESSION),
		str(MSG_LEN), SENDER, LOCAL, DOMAIN, str(ACCOUNTS)]
	try:
		p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=DRAIN_TIMEOUT)
	except subprocess.TimeoutExpired:
		raise BenchError("submit-load did not finish %d messages in %d s" % (messages, DRAIN_TIMEOUT))
	if p.returncode != 0:
		raise BenchError("submit-load exit %d: %s %s" % (p.returncode, p.stdout.strip(), p.stderr.strip()[-300:]))
	return time.monotonic()


def cpu(pids):
	return sum(tree_cpu(pid) for pid in pids)


def timed_run(sender, b, sessions, messages):
	"""Send `messages` through `sender` (whole rounds of one per account);
	time from the start of submit-load until every account at B holds its
	share more. Also the CPU time the sender's and B's process trees
	spent per message meanwhile (ms), which depends less on what else
	runs on the machine than the rates do."""
	counter = Counter(b, DOMAIN, LOCAL, ACCOUNTS, messages // ACCOUNTS, DRAIN_TIMEOUT)
	try:
		cpu0 = cpu(sender.mem_pids()), cpu([b.pid])
		t0 = time.monotonic()
		t_accepted = submit(sender.host, sender.port, sessions, messages)
		t_done, in_boxes = counter.go()
		cpu1 = cpu(sender.mem_pids()), cpu([b.pid])
	finally:
		counter.close()
	if in_boxes != messages:
		raise BenchError("%s: %d messages in B's mailboxes, %d sent" % (sender.name, in_boxes, messages))
	return {"delivered": messages / (t_done - t0), "accepted": messages / (t_accepted - t0),
		"cpu": tuple(1000 * (c1 - c0) / messages for c0, c1 in zip(cpu0, cpu1))}


def newest_message(b, i):
	"""The head of the last message delivered to account i at B."""
	folder = os.path.join(b.data, "mail", DOMAIN, "%d%s" % (i, LOCAL), "msg")
	paths = [os.path.join(root, f) for root, _, files in os.walk(folder) for f in files]
	if not paths:
		raise BenchError("no message in %s" % folder)
	with open(max(paths, key=os.path.getmtime), "rb") as f:
		return f.read(16384).split(b"\r\n\r\n", 1)[0]


def check_path(sender, b):
	"""What the warm-up's last message says of its way: STARTTLS from the
	sender to B (ESMTPS in B's Received field), and a DKIM signature when
	the sender is tern."""
	head = newest_message(b, ACCOUNTS)
	if b"ESMTPS" not in head:
		raise BenchError("%s: B's Received field does not say ESMTPS (no STARTTLS to B?)" % sender.name)
	signed = b"DKIM-Signature:" in head
	if signed != sender.signs:
		raise BenchError("%s: the message at B is %sDKIM-signed" % (sender.name, "" if signed else "not "))


def sender_ready(sender, b, sha_hash):
	"""Set the sender up and start it, warm it up (one message to every
	account, through one session: processes started, connections to B
	made, mailboxes found) and check the path."""
	log("setting up %s on %s" % (sender.name, sender.host))
	sender.setup(sha_hash)
	sender.start()
	timed_run(sender, b, 1, ACCOUNTS)
	check_path(sender, b)


def sender_run(sender, b, sessions, messages):
	"""One timed run, with the memory of the sender's process trees
	sampled."""
	time.sleep(SETTLE)     # let the previous run's work settle
	os.sync()              # nor its write-back land in this one
	log("%s: %d messages, %d submitters" % (sender.name, messages, sessions))
	sampler = Sampler(*sender.mem_pids())
	try:
		r = timed_run(sender, b, sessions, messages)
	finally:
		idle, peak = sampler.result()
	r["memory"] = {"idle": idle, "peak": peak}
	return r


# ---------------------------------------------------------------- the servers

class Tern(benchlib.Tern):
	kind = "tern"

	def __init__(self, top, name):
		os.mkdir(top, 0o755)
		super().__init__(top)
		self.name = name
		self.mail_root = self.data


class TernB(Tern):
	"""B: the receiving MX on B_ADDR:B_PORT for the ACCOUNTS accounts of
	DOMAIN. The senders are in trusted_networks (no pregreet wait for a
	new client address; relaying itself is not asked of B)."""

	def __init__(self, top):
		super().__init__(top, "tern B")
		self.host, self.port = B_ADDR, B_PORT
		self.sets.update({
			"server.hostname": "b.bench.test",
			"listen.smtp": "%s:%d" % (B_ADDR, B_PORT),
			"smtp.trusted_networks": "%s/32, %s/32" % (A_ADDR, P_ADDR),
			# each sender opens up to 20 connections at once (its default
			# destination concurrency), and their closes overlap new ones
			"limits.connections_per_ip": "200",
		})

	def setup(self, sha_hash):
		self.cmd("domain", "add", DOMAIN)
		for i in range(1, ACCOUNTS + 1):
			self.cmd("user", "add", "%d%s@%s" % (i, LOCAL, DOMAIN), "--hash", "{SHA512-CRYPT}" + sha_hash)

	def start(self):
		# the probe would take another server's answer for B's
		with socket.socket() as s:
			s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
			try:
				s.bind((self.host, self.port))
			except OSError as e:
				raise BenchError("%s:%d is taken (another relay_bench run?): %s" % (self.host, self.port, e))
		super().start(lambda: smtp_greeting(self.port, self.host))


class TernA(Tern):
	"""A: tern as the users' submission server on A_ADDR (AUTH without
	TLS over loopback), relaying DOMAIN to B by the transport table with
	the default TLS policy (may: STARTTLS, as Postfix's Debian default),
	every message DKIM-signed for SENDER_DOMAIN."""
	signs = True

	def __init__(self, top):
		super().__init__(top, "tern")
		self.host = A_ADDR
		self.sets.update({
			"server.hostname": "a.relay.test",
			"listen.submission": "%s:%d" % (A_ADDR, self.port),
			"auth.allow_plaintext_loopback": "yes",
			"queue.transport": "%s=%s:%d" % (DOMAIN, B_ADDR, B_PORT),
			"queue.source_address": A_ADDR,
			# the bench's submitters all come from one address (real
			# users come from many); Postfix exempts its mynetworks
			"limits.connections_per_ip": str(4 * max(SESSIONS) + 100),
		})

	def setup(self, sha_hash):
		self.cmd("domain", "add", SENDER_DOMAIN)
		self.cmd("user", "add", SENDER, "--hash", "{SHA512-CRYPT}" + sha_hash)
		self.cmd("dkim", "keygen", SENDER_DOMAIN)

	def start(self):
		super().start(lambda: smtp_greeting(self.port, self.host))

	def mem_pids(self):
		return [self.pid]


# main.cf beyond benchlib's common part.
POSTFIX_MAIN_CF = """\
myhostname = p.relay.test
# the submission service in master.cf listens on {addr} alone (Postfix
# takes only an interface's own address here, and lo has only 127.0.0.1)
inet_interfaces = loopback-only
# the route to B, as tern's transport table entry
relayhost = [{b_addr}]:{b_port}
smtp_bind_address = {addr}
# as Debian's shipped main.cf: STARTTLS to the next hop when offered
smtp_tls_security_level = may
# SASL through Dovecot's auth service (the Postfix + Dovecot stack)
smtpd_sasl_type = dovecot
smtpd_sasl_path = private/auth
"""

# master.cf beyond benchlib's common services: the submission service as
# Debian's commented-out entry has it, without TLS (as tern's side), and
# the SMTP client with its TLS manager.
POSTFIX_MASTER_CF = """\
{addr}:{port} inet n -   n -    -  smtpd
  -o syslog_name=postfix/submission
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject
tlsmgr    unix  -    -      n 1000? 1 tlsmgr
smtp      unix  -    -      n -    -  smtp
relay     unix  -    -      n -    -  smtp
"""

# Dovecot with no mail protocol, only its auth service, whose socket is
# in Postfix's queue (private/auth, as smtpd_sasl_path says). Dovecot's
# auth cache is off by default; on, so that both stacks have a login
# cache (tern's is on by default) and the figure compares relaying, not
# password hashing.
DOVECOT_AUTH = """\
auth_cache_size = 10M
service auth {{
  unix_listener {socket} {{
    mode = 0660
    user = postfix
    group = postfix
  }}
}}
"""


class PostfixP(benchlib.Postfix):
	"""P: Postfix as the submission server on P_ADDR (SASL by Dovecot),
	relaying everything to B by relayhost."""
	name = "postfix"
	signs = False

	def __init__(self, top):
		os.mkdir(top, 0o755)
		super().__init__(os.path.join(top, "postfix"), P_ADDR)
		os.mkdir(self.top, 0o755)
		self.socket = os.path.join(self.top, "spool", "private", "auth")
		dtop = os.path.join(top, "dovecot")
		os.mkdir(dtop, 0o755)
		self.dovecot = benchlib.Dovecot(dtop, "relay_bench.py", "none", 100, 1000,
						extra=DOVECOT_AUTH.format(socket=self.socket))

	def setup(self, sha_hash):
		self.write_config("relay_bench.py", POSTFIX_MAIN_CF.format(addr=P_ADDR, b_addr=B_ADDR, b_port=B_PORT),
				  POSTFIX_MASTER_CF.format(addr=P_ADDR, port=self.port))
		self.check()
		self.dovecot.write_passwd([SENDER], sha_hash)

	def start(self):
		def auth_socket():
			with socket.socket(socket.AF_UNIX) as s:
				s.connect(self.socket)
		self.dovecot.start(auth_socket)
		super().start()

	def stop(self):
		super().stop()
		self.dovecot.stop()

	def mem_pids(self):
		return [self.mem_pid(), self.dovecot.pid]


class Sink(benchlib.Sink):
	host = "127.0.0.1"

	def ceiling(self, levels):
		"""{sessions: msg/s} of submit-load against smtp-sink, timed
		until it exits."""
		self.start()
		out = {}
		for sessions, messages in levels:
			t0 = time.monotonic()
			out[sessions] = messages / (submit(self.host, self.port, sessions, messages) - t0)
		self.stop()
		return out


# ---------------------------------------------------------------- report

def fmt(v, digits=0):
	return "-" if v is None else "%.*f" % (digits, v)


def report(levels, res, errors, ceiling, tern, postfix, load_start):
	t, p = res.get("tern", {}), res.get("postfix", {})
	print()
	print(machine_line())
	print("machine load (1, 5, 15 min): %s at the start, %s at the end" % (load_start, loadavg()))
	print("tern: %s (%s)   postfix: %s (Debian), SASL by dovecot %s" %
	      (tern.version(), TERN_BIN, postfix.version(), benchlib.dovecot_version()))
	print("load: submit-load, %d concurrent submission sessions of %d message%s each (EHLO, AUTH PLAIN, "
	      "MAIL, RCPT, DATA, QUIT), %d-octet bodies, to %d accounts of one domain at B (tern, %s:%d); "
	      "the sender relays to B with STARTTLS; tern signs each message (DKIM, RSA 2048), Postfix does not" %
	      (max(SESSIONS), PER_SESSION, "" if PER_SESSION == 1 else "s", MSG_LEN, ACCOUNTS, B_ADDR, B_PORT))
	print()
	print("%-11s %8s %10s %10s %7s %6s  %s" % ("submitters", "messages", "tern", "postfix", "ratio", "goal", ""))
	for sessions, messages in levels:
		tr, pr = t.get(sessions), p.get(sessions)
		tv = tr["delivered"] if tr else None
		pv = pr["delivered"] if pr else None
		ratio = tv / pv if tv and pv else None
		verdict = "missed (no figure)" if ratio is None else "met" if ratio >= GOAL else "MISSED"
		print("%-11s %8d %10s %10s %7s %6s  %s" %
		      ("%d" % sessions, messages, fmt(tv) if tr else "failed", fmt(pv) if pr else "failed",
		       fmt(ratio, 2), "%.1fx" % GOAL, verdict))
	print("msg/s = messages from the first submission until every one is in its mailbox at B; "
	      "ratio = tern / postfix, higher is better")
	print("accepted (until the last 250 at the sender), tern / postfix msg/s: " +
	      ", ".join("%d: %s / %s" % (s, fmt(t[s]["accepted"]) if s in t else "-",
					 fmt(p[s]["accepted"]) if s in p else "-") for s, _ in levels))
	print("the load generator alone (smtp-sink: replies at once, keeps nothing), msg/s: " +
	      ", ".join("%d: %s" % (s, fmt(ceiling[s])) for s, _ in levels))
	for name, r in (("tern", t), ("postfix", p)):
		ms = ", ".join("%d: %.2f / %.2f" % ((s,) + r[s]["cpu"]) for s, _ in levels if s in r)
		if ms:
			print("%-8s CPU per message (ms, user + system), the sender / B, by submitters: %s" % (name, ms))
	for name, r in (("tern", t), ("postfix", p)):
		mem = ", ".join("%d: %.1f MiB (idle %.1f)" % (s, r[s]["memory"]["peak"] / 1024, r[s]["memory"]["idle"] / 1024)
				for s, _ in levels if s in r)
		if mem:
			what = "tern A" if name == "tern" else "postfix P + dovecot auth"
			print("%-8s peak memory (Pss of %s) by submitters: %s" % (name, what, mem))
	for name, e in errors.items():
		print("%s FAILED: %s" % (name, e))


# ---------------------------------------------------------------- main

def levels_from_env():
	if len(SESSIONS) != len(MESSAGES) or not SESSIONS:
		raise BenchError("BENCH_RELAY_SESSIONS and BENCH_RELAY_MESSAGES need as many numbers each")
	# whole rounds of one message per account, so that each gets its share
	return [(s, max(1, -(-m // ACCOUNTS)) * ACCOUNTS) for s, m in zip(SESSIONS, MESSAGES)]


def main():
	for path, how in ((TERN_BIN, "run `make build`"), (SUBMIT_LOAD, "run `make build`"),
			  (POSTFIX_BIN, "run `sh scripts/deps.sh bench`"), (SMTP_SINK, "run `sh scripts/deps.sh bench`"),
			  (DOVECOT_BIN, "run `sh scripts/deps.sh bench`")):
		if not os.path.exists(path):
			raise BenchError("%s not found; %s" % (path, how))
	if not AS_ROOT:
		raise BenchError("B listens on port %d and Postfix's master runs as root: run the bench as root" % B_PORT)
	return benchlib.run("tern-relay-bench-", DEADLINE, bench)


def loadavg():
	with open("/proc/loadavg") as f:
		return " ".join(f.read().split()[:3])


def bench(top, servers):
	t_start = time.monotonic()
	load_start = loadavg()
	levels = levels_from_env()
	log("the load generator alone, against smtp-sink")
	sink = Sink(top)
	servers.append(sink)
	ceiling = sink.ceiling(levels)
	sha_hash = crypt.crypt(PASSWORD, crypt.mksalt(crypt.METHOD_SHA512))

	b = TernB(os.path.join(top, "b"))
	tern = TernA(os.path.join(top, "a"))
	postfix = PostfixP(os.path.join(top, "p"))
	log("setting up tern B (%d accounts) on %s:%d" % (ACCOUNTS, B_ADDR, B_PORT))
	servers.append(b)
	b.setup(sha_hash)
	b.start()
	res, errors = {"tern": {}, "postfix": {}}, {}

	def attempt(sender, what, *args):
		"""what(sender, b, *args), unless the sender failed before; a
		failure stops it and is kept in errors."""
		if sender.name in errors:
			return None
		try:
			return what(sender, b, *args)
		except DeadlineError:
			raise
		except BenchError as e:
			log("%s FAILED: %s" % (sender.name, e))
			errors[sender.name] = str(e)
			sender.stop()
			return None

	# Both senders wait, started and warmed up (idle, they cost nothing),
	# and each level runs tern then Postfix back to back: on a machine
	# whose other load changes from minute to minute, the two figures of
	# a ratio are taken as close together in time as they can be.
	for sender in (tern, postfix):
		servers.append(sender)
		attempt(sender, sender_ready, sha_hash)
	for sessions, messages in levels:
		for sender in (tern, postfix):
			r = attempt(sender, sender_run, sessions, messages)
			if r is not None:
				res[sender.name][sessions] = r
	for sender in (tern, postfix):
		sender.stop()
	b.stop()
	report(levels, res, errors, ceiling, tern, postfix, load_start)
	print("whole run: %.0f s" % (time.monotonic() - t_start))
	# a goal missed is a result (printed as such); a sender that fails is not
	return 1 if errors else 0


if __name__ == "__main__":
	benchlib.cli(main)
