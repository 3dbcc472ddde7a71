# smtp_bench - tern against Postfix as an MX: Postfix's smtp-source sends
# the same load of ~4 KB messages to 100 local accounts of both servers at
# 1, 10 and 50 concurrent sessions, and the time runs until every message
# is in its mailbox (tern: each account's index.db; Postfix: virtual(8)'s
# Maildirs). Also measured in the same run: the disk's own fsync rate and
# rate of new durable files, and the servers' memory per session. See
# bench/README.md.
import math
import os
import subprocess
import sys
import threading
import time
import warnings

with warnings.catch_warnings():
	warnings.simplefilter("ignore", DeprecationWarning)
	import crypt

import benchlib
from benchlib import (NOBODY_GID, NOBODY_UID, POSTFIX_BIN, SMTP_SINK, TERN_BIN, BenchError, Counter, DeadlineError,
		      Sampler, chown_tree, env_int, env_list, log, machine_line, smtp_greeting)

SMTP_SOURCE = os.environ.get("SMTP_SOURCE", "/usr/sbin/smtp-source")

ACCOUNTS = env_int("BENCH_SMTP_ACCOUNTS", 100)          # local accounts, one domain
SESSIONS = env_list("BENCH_SMTP_SESSIONS", "1,10,50")     # concurrent sessions per run
MESSAGES = env_list("BENCH_SMTP_MESSAGES", "2000,10000,10000")  # messages per run (at least)
MSG_LEN = env_int("BENCH_SMTP_MSG_LEN", 4096)            # smtp-source -l: body octets
DISK_SECONDS = float(os.environ.get("BENCH_DISK_SECONDS", "3"))  # per disk figure
DRAIN_TIMEOUT = env_int("BENCH_SMTP_DRAIN", 120)         # s after the last 250, then give up
DEADLINE = env_int("BENCH_DEADLINE", 420)                # whole run, then abort + clean up
GOALS = {1: 2.5, 10: 4.0, 50: 4.0}                        # tern / Postfix, from issue 6

DOMAIN = "bench.test"
LOCAL = "user"        # smtp-source -N makes 1user@, 2user@, ... ACCOUNTSuser@
SENDER = "bench@example.org"
HELO = "client.example.org"


def account(i):
	return "%d%s@%s" % (i, LOCAL, DOMAIN)


# ---------------------------------------------------------------- the disk

def disk_fsync_rate(folder, seconds):
	"""4 KB appended to one file and fsync'd, in a loop: fsyncs per second."""
	path = os.path.join(folder, "fsync-probe")
	block = os.urandom(4096)
	fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
	try:
		n, t0 = 0, time.monotonic()
		while time.monotonic() - t0 < seconds:
			os.write(fd, block)
			os.fsync(fd)
			n += 1
		return n / (time.monotonic() - t0)
	finally:
		os.close(fd)
		os.unlink(path)


def disk_durable_file_rate(folder, seconds):
	"""New durable files per second, made the way a mail server must: write
	4 KB to a temporary name, fsync it, rename it, fsync the folder."""
	d = os.path.join(folder, "durable-probe")
	os.mkdir(d)
	block = os.urandom(4096)
	dfd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
	n = 0
	try:
		t0 = time.monotonic()
		while time.monotonic() - t0 < seconds:
			tmp = os.path.join(d, "tmp.%d" % n)
			fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
			try:
				os.write(fd, block)
				os.fsync(fd)
			finally:
				os.close(fd)
			os.rename(tmp, os.path.join(d, "%d" % n))
			os.fsync(dfd)
			n += 1
		return n / (time.monotonic() - t0)
	finally:
		os.close(dfd)
		for i in range(n):
			os.unlink(os.path.join(d, "%d" % i))
		os.rmdir(d)


def filesystem_of(path):
	try:
		out = subprocess.run(["findmnt", "-n", "-o", "SOURCE,FSTYPE", "--target", path],
				     capture_output=True, text=True, timeout=10).stdout.split()
		return " ".join(out) or "?"
	except (OSError, subprocess.SubprocessError):
		return "?"


# ---------------------------------------------------------------- the load

def smtp_source_argv(port):
	"""One smtp-source run: one session (-s 1), one message to each account
	in turn (-m ACCOUNTS, -N numbers the recipients 1user@, 2user@, ...),
	MSG_LEN octets of body after its few header lines, a new connection
	(HELO, MAIL, RCPT, DATA, QUIT) per message, as mail from many senders
	arrives at an MX."""
	return [SMTP_SOURCE, "-s", "1", "-m", str(ACCOUNTS), "-N", "-l", str(MSG_LEN), "-f", SENDER,
		"-M", HELO, "-t", "%s@%s" % (LOCAL, DOMAIN), "inet:127.0.0.1:%d" % port]


def send_load(server, sessions, runs):
	"""`sessions` streams side by side, each running smtp-source `runs`
	times in a row: `sessions` concurrent SMTP sessions, and every account
	gets exactly sessions * runs messages. Returns the instant the last
	stream finished (every message accepted)."""
	argv = smtp_source_argv(server.port)
	errors = []

	def stream():
		for _ in range(runs):
			if errors:
				return
			try:
				p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
						   timeout=DRAIN_TIMEOUT)
			except subprocess.TimeoutExpired:
				errors.append("smtp-source did not finish %d messages in %d s" % (ACCOUNTS, DRAIN_TIMEOUT))
				return
			if p.returncode != 0:
				errors.append("smtp-source exit %d: %s" % (p.returncode, (p.stderr or p.stdout).strip()[-300:]))
				return

	threads = [threading.Thread(target=stream, daemon=True) for _ in range(sessions)]
	for t in threads:
		t.start()
	for t in threads:
		t.join()
	if errors:
		raise BenchError("%s: %s" % (server.name, errors[0]))
	return time.monotonic()


def timed_run(server, sessions, runs):
	"""Send sessions * runs * ACCOUNTS messages; time from the first
	connection until every account holds its sessions * runs more."""
	counter = Counter(server, DOMAIN, LOCAL, ACCOUNTS, sessions * runs, DRAIN_TIMEOUT)
	total = sessions * runs * ACCOUNTS
	try:
		t0 = time.monotonic()
		t_accepted = send_load(server, sessions, runs)
		t_done, in_boxes = counter.go()
	finally:
		counter.close()
	if in_boxes != total:
		raise BenchError("%s: %d messages in the mailboxes, %d sent" % (server.name, in_boxes, total))
	return {"messages": total, "delivered": total / (t_done - t0), "accepted": total / (t_accepted - t0)}


def bench_server(server, levels, out):
	"""Warm up (one message to every account: mailboxes made, files in
	the page cache), then one timed run per (sessions, runs) level on the
	same running server. Fills out[sessions] as each run completes (so a
	failure keeps the figures before it): delivered and accepted msg/s,
	and at the largest level the memory (Pss of the process tree before
	the run, its peak during it, and the difference per session)."""
	server.start()
	timed_run(server, 1, 1)
	for sessions, runs in levels:
		time.sleep(1.0)     # let the previous run's work settle
		log("%s: %d messages, %d sessions" % (server.name, sessions * runs * ACCOUNTS, sessions))
		sampler = Sampler(server.mem_pid()) if sessions == max(SESSIONS) else None
		r = out[sessions] = timed_run(server, sessions, runs)
		if sampler is not None:
			idle, peak = sampler.result()
			r["memory"] = {"idle": idle, "peak": peak, "per_session": (peak - idle) / sessions}
	server.stop()


# ---------------------------------------------------------------- the servers

class Tern(benchlib.Tern):
	kind = "tern"

	def __init__(self, top):
		super().__init__(top)
		self.mail_root = self.data
		self.sets.update({
			"listen.smtp": "127.0.0.1:%d" % self.port,
			# as Postfix's mynetworks below: the load comes from loopback
			"smtp.trusted_networks": "127.0.0.0/8",
			"limits.connections_per_ip": str(4 * max(SESSIONS) + 100),
		})

	def setup(self, sha_hash):
		self.cmd("domain", "add", DOMAIN)
		for i in range(1, ACCOUNTS + 1):
			self.cmd("user", "add", account(i), "--hash", "{SHA512-CRYPT}" + sha_hash)

	def start(self):
		super().start(lambda: smtp_greeting(self.port))

	def mem_pid(self):
		return self.pid


# main.cf beyond benchlib's common part: the one local domain, delivered
# by virtual(8) into Maildirs as nobody.
POSTFIX_MAIN_CF = """\
myhostname = postfix.bench.test
inet_interfaces = 127.0.0.1
virtual_mailbox_domains = {domain}
virtual_mailbox_base = {top}/mail
virtual_mailbox_maps = texthash:{top}/etc/vmailbox
virtual_uid_maps = static:{uid}
virtual_gid_maps = static:{gid}
"""

# master.cf beyond benchlib's common services: one smtpd on the bench's
# loopback port, and virtual(8).
POSTFIX_MASTER_CF = """\
127.0.0.1:{port} inet n -   n -    -  smtpd
virtual   unix  -    n      n -    -  virtual
"""


class Postfix(benchlib.Postfix):
	def setup(self):
		self.write_config("smtp_bench.py",
				  POSTFIX_MAIN_CF.format(top=self.top, domain=DOMAIN, uid=NOBODY_UID, gid=NOBODY_GID),
				  POSTFIX_MASTER_CF.format(port=self.port))
		with open(os.path.join(self.etc, "vmailbox"), "w") as f:
			for i in range(1, ACCOUNTS + 1):
				f.write("%s %d%s/\n" % (account(i), i, LOCAL))     # trailing /: a Maildir
				for sub in ("new", "cur", "tmp"):
					os.makedirs(os.path.join(self.mail_root, "%d%s" % (i, LOCAL), sub))
		chown_tree(self.mail_root)
		self.check()


class Sink(benchlib.Sink):
	def ceiling(self, levels):
		"""{sessions: msg/s} for the same runs, timed until the last reply."""
		self.start()
		out = {}
		for sessions, runs in levels:
			t0 = time.monotonic()
			out[sessions] = sessions * runs * ACCOUNTS / (send_load(self, sessions, runs) - t0)
		self.stop()
		return out


# ---------------------------------------------------------------- report

def fmt(v, digits=0):
	return "-" if v is None else "%.*f" % (digits, v)


def wakeup_cost():
	"""What a hand-off between threads and a sleep cost on this machine
	(bench/wakeup_cost.c, built beside tern): the lines it prints, or a
	line saying it is missing."""
	binary = os.path.join(os.path.dirname(TERN_BIN), "wakeup-cost")
	if not os.path.exists(binary):
		return ["wake-up cost: %s not found; run `make build`" % binary]
	p = subprocess.run([binary], capture_output=True, text=True, timeout=120)
	if p.returncode != 0:
		return ["wake-up cost: %s failed: %s" % (binary, p.stderr.strip()[-200:])]
	return p.stdout.strip().splitlines()


def report(levels, res, errors, disk, settled, wakeup, ceiling, top, tern, postfix):
	t, p = res.get("tern", {}), res.get("postfix", {})
	print()
	print(machine_line())
	print("tern: %s (%s)   postfix: %s (Debian; smtp-source from the same package)" %
	      (tern.version(), TERN_BIN, postfix.version()))
	print("load: smtp-source, %d-octet bodies (%s with headers), to %d accounts of one domain, "
	      "one message per connection (HELO, MAIL, RCPT, DATA, QUIT)" %
	      (MSG_LEN, "~%.1f KB" % ((MSG_LEN + 250) / 1000), ACCOUNTS))
	print("disk (%s, %s): %.0f fsyncs/s (4 KB append + fsync), %.0f new durable files/s "
	      "(write 4 KB, fsync, rename, fsync folder)" % (top, filesystem_of(top), disk[0], disk[1]))
	print("disk, before each server: %s; bench folder: %s" % (settled, benchlib.spread_result))
	for line in wakeup:
		print("machine: " + line)
	print()
	print("%-10s %8s %10s %10s %7s %6s  %s" % ("sessions", "messages", "tern", "postfix", "ratio", "goal", ""))
	for sessions, runs in levels:
		tr, pr = t.get(sessions), p.get(sessions)
		tv = tr["delivered"] if tr else None
		pv = pr["delivered"] if pr else None
		ratio = tv / pv if tv and pv else None
		goal = GOALS.get(sessions)
		if goal is None:
			verdict = ""
		elif ratio is None:
			verdict = "missed (no figure)"
		elif ratio >= goal:
			verdict = "met"
		else:
			verdict = "MISSED"
		print("%-10s %8d %10s %10s %7s %6s  %s" %
		      ("%d" % sessions, sessions * runs * ACCOUNTS, fmt(tv) if tr else "failed", fmt(pv) if pr else "failed",
		       fmt(ratio, 2), "%.1fx" % goal if goal else "", verdict))
	print("msg/s = messages from the start of the run until every one is in its mailbox "
	      "(durably delivered); ratio = tern / postfix, higher is better")
	acc = []
	for sessions, runs in levels:
		acc.append("%d: %s / %s" % (sessions, fmt(t[sessions]["accepted"]) if sessions in t else "-",
					     fmt(p[sessions]["accepted"]) if sessions in p else "-"))
	print("accepted (until the last 250), tern / postfix msg/s: " + ", ".join(acc))
	print("the load generator alone (smtp-sink: replies at once, keeps nothing), msg/s: " +
	      ", ".join("%d: %s" % (sessions, fmt(ceiling[sessions])) for sessions, runs in levels))
	big = max(SESSIONS)
	for name, r in (("tern", t), ("postfix", p)):
		m = r.get(big, {}).get("memory")
		if m:
			print("%-8s memory per session at %d sessions: %.0f KiB (Pss of the process tree: idle %.1f MiB, "
			      "peak %.1f MiB)" % (name, big, m["per_session"], m["idle"] / 1024, m["peak"] / 1024))
	for name, e in errors.items():
		print("%s FAILED: %s" % (name, e))


# ---------------------------------------------------------------- main

def levels_from_env():
	if len(SESSIONS) != len(MESSAGES) or not SESSIONS:
		raise BenchError("BENCH_SMTP_SESSIONS and BENCH_SMTP_MESSAGES need as many numbers each")
	# whole smtp-source runs: each sends one message to every account
	return [(s, max(1, math.ceil(m / (s * ACCOUNTS)))) for s, m in zip(SESSIONS, MESSAGES)]


def main():
	for path, how in ((TERN_BIN, "run `make build`"), (POSTFIX_BIN, "run `sh scripts/deps.sh bench`"),
			  (SMTP_SOURCE, "run `sh scripts/deps.sh bench`"), (SMTP_SINK, "run `sh scripts/deps.sh bench`")):
		if not os.path.exists(path):
			raise BenchError("%s not found; %s" % (path, how))
	return benchlib.run("tern-smtp-bench-", DEADLINE, bench)


def dkim_cost():
	"""The cost of DKIM signing per message (bench/dkim_bench.c, built
	beside tern): what submission adds to each message it signs."""
	binary = os.path.join(os.path.dirname(TERN_BIN), "dkim-bench")
	if not os.path.exists(binary):
		log("DKIM signing cost: %s not found; run `make build`" % binary)
		return
	print("\nDKIM signing, per message (relaxed/relaxed, the body hashed as it arrives,"
	      " one signature):")
	sys.stdout.flush()
	subprocess.run([binary, "1"], check=True)


def bench(top, servers):
	t_start = time.monotonic()
	levels = levels_from_env()
	log("disk: fsync rate and durable-file rate, %.0f s each" % DISK_SECONDS)
	disk = (disk_fsync_rate(top, DISK_SECONDS), disk_durable_file_rate(top, DISK_SECONDS))
	log("machine: what a sleep and a wake-up cost")
	wakeup = wakeup_cost()
	log("the load generator alone, against smtp-sink")
	sink = Sink(top)
	servers.append(sink)
	ceiling = sink.ceiling(levels)
	sha_hash = crypt.crypt("Bench-Pass-42", crypt.mksalt(crypt.METHOD_SHA512))

	ptop = os.path.join(top, "postfix")
	os.mkdir(ptop, 0o755)
	postfix = Postfix(ptop)
	tern = Tern(top)
	res, errors, settled = {}, {}, "?"
	for server, setup in ((postfix, postfix.setup), (tern, lambda: tern.setup(sha_hash))):
		settled = benchlib.settle_disk()
		log("setting up %s (%d accounts; disk: %s)" % (server.name, ACCOUNTS, settled))
		servers.append(server)
		try:
			setup()
			bench_server(server, levels, res.setdefault(server.name, {}))
		except DeadlineError:
			raise
		except BenchError as e:
			log("%s FAILED: %s" % (server.name, e))
			errors[server.name] = str(e)
			server.stop()

	report(levels, res, errors, disk, settled, wakeup, ceiling, top, tern, postfix)
	dkim_cost()
	print("whole run: %.0f s" % (time.monotonic() - t_start))
	# a goal missed is a result (printed as such); a server that fails is not
	return 1 if errors else 0


if __name__ == "__main__":
	benchlib.cli(main)
