# benchlib - what the benchmarks share: free loopback ports, the memory of
# a process tree and its sampling during a run, starting and stopping
# servers (tern and its rivals: Dovecot, Postfix, smtp-sink) in a session
# of their own, the SMTP greeting probe, the mailbox counter of the SMTP
# benchmarks, the machine line, and one run with a deadline that always
# stops every server and removes its temporary folder.
import os
import pwd
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TERN_BIN = os.environ.get("TERN_BIN", os.path.join(REPO, "build", "tern"))
DOVECOT_BIN = os.environ.get("DOVECOT_BIN", "/usr/sbin/dovecot")
POSTFIX_BIN = os.environ.get("POSTFIX_BIN", "/usr/sbin/postfix")
POSTCONF_BIN = os.path.join(os.path.dirname(POSTFIX_BIN), "postconf")
SMTP_SINK = os.environ.get("SMTP_SINK", "/usr/sbin/smtp-sink")
NOBODY_UID, NOBODY_GID = 65534, 65534
AS_ROOT = os.geteuid() == 0


class BenchError(Exception):
	pass


class DeadlineError(BenchError):
	"""The run's deadline: ends the whole run, not only the server it
	interrupted."""


def log(msg):
	print("bench: " + msg, file=sys.stderr, flush=True)


def env_int(name, default):
	return int(os.environ.get(name, default))


def env_list(name, default):
	return [int(x) for x in os.environ.get(name, default).split(",") if x.strip()]


def free_port():
	"""A free loopback port below the ephemeral range, so no client socket
	of ours can take it between now and the server's bind."""
	try:
		with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
			lo, _ = (int(x) for x in f.read().split())
	except (OSError, ValueError):
		lo = 32768
	for _ in range(500):
		port = random.randint(20000, max(20001, lo - 1))
		if port in free_port.used:
			continue
		with socket.socket() as s:
			try:
				s.bind(("127.0.0.1", port))
			except OSError:
				continue
		free_port.used.add(port)
		return port
	raise BenchError("no free loopback port")


free_port.used = set()


def proc_tree(root):
	"""root and every descendant, from /proc/*/stat."""
	children = {}
	for d in os.listdir("/proc"):
		if not d.isdigit():
			continue
		try:
			with open("/proc/%s/stat" % d) as f:
				st = f.read()
		except OSError:
			continue
		ppid = int(st[st.rindex(")") + 2:].split()[1])
		children.setdefault(ppid, []).append(int(d))
	out, todo = [], [root]
	while todo:
		p = todo.pop()
		out.append(p)
		todo += children.get(p, [])
	return out


def tree_memory(root):
	"""(Pss KiB, Rss KiB, process count) summed over root's process tree."""
	pss = rss = n = 0
	for pid in proc_tree(root):
		try:
			with open("/proc/%d/smaps_rollup" % pid) as f:
				for line in f:
					if line.startswith("Pss:"):
						pss += int(line.split()[1])
					elif line.startswith("Rss:"):
						rss += int(line.split()[1])
			n += 1
		except OSError:
			pass    # exited meanwhile
	return pss, rss, n


def tree_cpu(root):
	"""CPU seconds (user + system) spent by root's process tree: each live
	process's own time and that of the children it has reaped (so a
	descendant that exited is counted once, in its parent's)."""
	ticks = 0
	for pid in proc_tree(root):
		try:
			with open("/proc/%d/stat" % pid) as f:
				st = f.read()
		except OSError:
			continue    # exited meanwhile
		fields = st[st.rindex(")") + 2:].split()
		ticks += sum(int(x) for x in fields[11:15])    # utime stime cutime cstime
	return ticks / os.sysconf("SC_CLK_TCK")


class Sampler:
	"""Pss summed over the process trees of `pids` now (idle), then every
	50 ms in a thread until result() returns (idle, peak)."""

	def __init__(self, *pids):
		self.pids, self.stop_flag = pids, threading.Event()
		self.idle = self.pss()
		self.samples = [self.idle]
		self.thread = threading.Thread(target=self.run, daemon=True)
		self.thread.start()

	def pss(self):
		return sum(tree_memory(pid)[0] for pid in self.pids)

	def run(self):
		while not self.stop_flag.wait(0.05):
			self.samples.append(self.pss())

	def result(self):
		self.stop_flag.set()
		self.thread.join()
		return self.idle, max(self.samples)


def chown_tree(path, uid=NOBODY_UID, gid=NOBODY_GID):
	"""Give path and everything below it to uid:gid (when run as root)."""
	if not AS_ROOT:
		return
	for root, dirs, files in os.walk(path):
		os.chown(root, uid, gid)
		for f in files:
			os.chown(os.path.join(root, f), uid, gid)


def start_server(argv, log_path):
	"""Popen argv in a session of its own (so that stop_proc can take its
	whole process group), output into log_path."""
	logf = open(log_path, "wb")
	try:
		return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=logf, stderr=logf,
					start_new_session=True)
	finally:
		logf.close()


def wait_answer(server, probe, timeout=20.0):
	"""Call probe() until it returns without raising OSError or
	BenchError; fail early if the server's process exits."""
	deadline = time.monotonic() + timeout
	while time.monotonic() < deadline:
		if server.proc.poll() is not None:
			raise BenchError("%s exited %s at start; see its log in %s" %
					 (server.name, server.proc.returncode, server.top))
		try:
			probe()
			return
		except (OSError, BenchError):
			time.sleep(0.1)
	raise BenchError("%s did not answer on port %d" % (server.name, server.port))


def stop_proc(proc):
	"""SIGTERM the server, then SIGKILL its whole process group (the
	session it was started in, so only processes this script started)."""
	if proc is None:
		return
	if proc.poll() is None:
		proc.send_signal(signal.SIGTERM)
		try:
			proc.wait(timeout=10)
		except subprocess.TimeoutExpired:
			pass
	try:
		os.killpg(proc.pid, signal.SIGKILL)
	except (ProcessLookupError, PermissionError):
		pass
	try:
		proc.wait(timeout=5)
	except subprocess.TimeoutExpired:
		pass


class Tern:
	"""`tern serve` with a temporary data folder, configured by --set only
	(the caller fills `sets` with its listener and limits)."""
	name = "tern"

	def __init__(self, top):
		self.top = top
		# tern creates it (it gives [server] user only a folder it made)
		self.data = os.path.join(top, "tern-data")
		self.port = free_port()
		self.sets = {
			"server.data_dir": self.data,
			"server.hostname": "bench.test",
			"server.shutdown_timeout": "3",
			# no sendmail socket: it would be /run/tern's
			"server.public_dir": "",
			"listen.pop3": "", "listen.pop3s": "", "listen.smtp": "", "listen.submission": "",
			"listen.submissions": "", "listen.imap": "", "listen.imaps": "",
		}
		if AS_ROOT:
			self.sets["server.user"] = "nobody"
		self.proc = None
		self.pid = None
		self.log_path = os.path.join(top, "tern.log")

	def args(self):
		out = []
		for k, v in self.sets.items():
			out += ["--set", "%s=%s" % (k, v)]
		return out

	def cmd(self, *argv, stdin=None, timeout=120):
		p = subprocess.run([TERN_BIN] + list(argv) + self.args(), input=stdin,
				   capture_output=True, text=True, timeout=timeout)
		if p.returncode != 0:
			raise BenchError("tern %s: exit %d: %s" % (" ".join(argv), p.returncode, p.stderr.strip()[-500:]))
		return p

	def start(self, probe):
		"""Start `tern serve`; return once probe() (a client's first
		exchange) succeeds."""
		self.proc = start_server([TERN_BIN, "serve"] + self.args(), self.log_path)
		self.pid = self.proc.pid
		wait_answer(self, probe)

	def stop(self):
		stop_proc(self.proc)

	def version(self):
		"""The git revision of the tree TERN_BIN was built in."""
		tree = os.path.dirname(os.path.abspath(TERN_BIN))
		try:
			rev = subprocess.run(["git", "-C", tree, "rev-parse", "--short", "HEAD"],
					     capture_output=True, text=True, timeout=10).stdout.strip()
			dirty = subprocess.run(["git", "-C", tree, "status", "--porcelain", "--untracked-files=no"],
					       capture_output=True, text=True, timeout=10).stdout.strip()
			return "git %s%s" % (rev or "?", " (+ uncommitted changes)" if dirty else "")
		except (OSError, subprocess.SubprocessError):
			return "git ?"


DOVECOT_CONF = """\
# Written by bench/{script}; Debian 12's defaults except where noted.
protocols = {protocol}
listen = 127.0.0.1
base_dir = {top}/run
state_dir = {top}/state
log_path = {top}/dovecot.log
# plaintext over loopback TCP, as tern's auth.allow_plaintext_loopback
{ssl}
disable_plaintext_auth = no
auth_mechanisms = plain login
passdb {{
  driver = passwd-file
  args = scheme=SHA512-CRYPT {top}/passwd
}}
userdb {{
  driver = passwd-file
  args = {top}/passwd
}}
mail_location = maildir:~/Maildir
mail_uid = {uid}
mail_gid = {gid}
first_valid_uid = {uid}
# Raised so that the bench's sessions fit at once; per-process behaviour
# is untouched.
default_process_limit = {plimit}
default_client_limit = {climit}
"""

# Each protocol's login service: the one benchmarked listens on the
# bench's port, the others on none.
DOVECOT_SERVICE = """\
service {protocol}-login {{
  inet_listener {protocol} {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener {protocol}s {{
    address = 127.0.0.1
    port = {tls_port}
  }}
{extra}}}
"""


class Dovecot:
	"""Debian's Dovecot from a configuration written from scratch (not
	/etc/dovecot), with its own base_dir, state_dir, log and passwd-file
	under `top`, serving `protocol` ("pop3" or "imap") on a free port.
	With `tls` (certificate and key files), SSL is on and the implicit-TLS
	listener (pop3s, imaps) serves on a second free port, `tls_port`;
	`extra` is appended to the configuration."""

	def __init__(self, top, script, protocol, plimit, climit, name="dovecot", login_extra="",
		     tls=None, extra=""):
		self.top = top
		self.name = name
		self.port = free_port()
		self.tls_port = free_port() if tls is not None else 0
		self.proc = None
		self.pid = None
		for d in ("run", "state", "home"):
			os.makedirs(os.path.join(top, d), exist_ok=True)
		ssl = "ssl = no" if tls is None else "ssl = yes\nssl_cert = <%s\nssl_key = <%s" % tls
		conf = DOVECOT_CONF.format(script=script, protocol=protocol, top=top, uid=NOBODY_UID,
					   gid=NOBODY_GID, plimit=plimit, climit=climit, ssl=ssl)
		for p in ("pop3", "imap"):
			conf += DOVECOT_SERVICE.format(protocol=p, port=self.port if p == protocol else 0,
						       tls_port=self.tls_port if p == protocol else 0,
						       extra=login_extra if p == protocol else "")
		conf += extra
		self.conf = os.path.join(top, "dovecot.conf")
		with open(self.conf, "w") as f:
			f.write(conf)

	def write_passwd(self, users, sha_hash):
		"""The passwd-file: every user with the same SHA512-CRYPT hash,
		home top/home/USER, mail in its Maildir."""
		with open(os.path.join(self.top, "passwd"), "w") as f:
			for u in users:
				f.write("%s:{SHA512-CRYPT}%s:%d:%d::%s/home/%s::\n" %
					(u, sha_hash, NOBODY_UID, NOBODY_GID, self.top, u))

	def start(self, probe):
		self.proc = start_server([DOVECOT_BIN, "-F", "-c", self.conf], os.path.join(self.top, "dovecot.out"))
		self.pid = self.proc.pid
		wait_answer(self, probe)

	def stop(self):
		stop_proc(self.proc)

	def log_warnings(self):
		try:
			with open(os.path.join(self.top, "dovecot.log"), errors="replace") as f:
				return [l.rstrip() for l in f if ("Warning" in l or "Error" in l or "Fatal" in l)
					and "Killed with signal 15" not in l]
		except OSError:
			return []


def dovecot_version():
	try:
		return subprocess.run([DOVECOT_BIN, "--version"], capture_output=True, text=True,
				      timeout=10).stdout.strip()
	except (OSError, subprocess.SubprocessError):
		return "?"


# ---------------------------------------------------------------- SMTP

def smtp_greeting(port, host="127.0.0.1", timeout=10.0):
	"""Connect, read the whole greeting (2xx), QUIT: the server answers."""
	with socket.create_connection((host, port), timeout=timeout) as s:
		f = s.makefile("rb")
		while True:
			line = f.readline()
			if not line.startswith(b"2"):
				raise BenchError("greeting %r" % line[:200])
			if line[3:4] != b"-":
				break
		s.sendall(b"QUIT\r\n")
		f.readline()


def tern_counter(root, domain, local):
	"""i -> messages in the index.db of account "<i>LOCAL@DOMAIN" of the
	tern data folder root (0 while it does not exist). Read-only
	connections, kept open: they create no file (a -wal or -shm made by
	another user would lock tern out) and never checkpoint."""
	conns = {}

	def count(i):
		db = conns.get(i)
		if db is None:
			path = os.path.join(root, "mail", domain, "%d%s" % (i, local), "index.db")
			if not os.path.exists(path):
				return 0
			db = conns[i] = sqlite3.connect("file:%s?mode=ro" % path, uri=True, timeout=5)
		try:
			return db.execute("SELECT count(*) FROM messages").fetchone()[0]
		except sqlite3.Error:    # being created: no table yet
			db.close()
			del conns[i]
			return 0
	return count


def postfix_counter(root, local):
	"""i -> messages in the Maildir root/<i>LOCAL (virtual(8) delivers to new/)."""
	def count(i):
		return len(os.listdir(os.path.join(root, "%d%s" % (i, local), "new")))
	return count


def count_main(kind, root, domain, local, accounts, expect, timeout):
	"""The counter process (`benchlib.py --count ...`, run as the servers'
	user): counts what accounts 1..`accounts` hold, says `ready`, waits
	for a line on standard input, then polls the accounts not yet complete
	every 5 ms until each holds `expect` messages more than at `ready`.
	Prints `done MONOTONIC TOTAL` (the instant the last account was
	complete, and how many messages all gained by then), or `timeout
	TOTAL`."""
	count = tern_counter(root, domain, local) if kind == "tern" else postfix_counter(root, local)
	# what is there now (and what can be opened now, outside the timed run)
	base = {i: count(i) for i in range(1, accounts + 1)}
	print("ready", flush=True)
	if sys.stdin.readline().strip() != "go":
		return 1     # the bench stopped before the run
	held = {i: 0 for i in base}
	todo = set(base)
	deadline = time.monotonic() + timeout
	while True:
		for i in list(todo):
			held[i] = count(i) - base[i]
			if held[i] >= expect:
				todo.discard(i)
		if not todo:
			print("done %.6f %d" % (time.monotonic(), sum(held.values())), flush=True)
			return 0
		if time.monotonic() > deadline:
			print("timeout %d" % sum(held.values()), flush=True)
			return 1
		time.sleep(0.005)


class Counter:
	"""Starts a counter process (count_main) over accounts "<i>LOCAL@DOMAIN",
	i = 1..accounts, of `server` (its .kind, "tern" or "postfix", its
	.mail_root and .name); go() starts the polling and returns (instant,
	total) once each account holds `expect` messages more than when the
	counter started, or raises BenchError `timeout` s after go()."""

	def __init__(self, server, domain, local, accounts, expect, timeout):
		self.server, self.accounts, self.expect, self.timeout = server, accounts, expect, timeout
		kw = {"user": NOBODY_UID, "group": NOBODY_GID, "extra_groups": []} if AS_ROOT else {}
		self.proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--count", server.kind,
					      server.mail_root, domain, local, str(accounts), str(expect), str(timeout)],
					     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, **kw)
		if self.proc.stdout.readline().strip() != "ready":
			self.proc.kill()
			raise BenchError("%s: the mailbox counter did not start" % server.name)

	def go(self):
		line = []
		try:
			self.proc.stdin.write("go\n")
			self.proc.stdin.flush()
			line = self.proc.stdout.readline().split()
		finally:
			if not line:
				self.close()
			self.proc.stdin.close()
			self.proc.wait(timeout=10)
		if len(line) == 3 and line[0] == "done":
			return float(line[1]), int(line[2])
		got = line[1] if len(line) == 2 else "?"
		raise BenchError("%s: only %s of %d messages in the mailboxes %d s after the last one was accepted" %
				 (self.server.name, got, self.expect * self.accounts, self.timeout))

	def close(self):
		"""Stop the counter if it still runs (the run failed before go())."""
		if self.proc.poll() is None:
			self.proc.kill()
			self.proc.wait(timeout=10)


POSTFIX_MAIN_CF = """\
# Written by bench/{script}: Postfix's defaults (Debian 12) except
# where noted; an instance of its own, nothing under /etc/postfix is used.
compatibility_level = 3.6
queue_directory = {top}/spool
data_directory = {top}/lib
maillog_file = {top}/maillog
maillog_file_prefixes = {top}
mydestination =
mynetworks = 127.0.0.0/8
inet_protocols = ipv4
alias_maps =
alias_database =
"""

# The services of Debian's master.cf that every bench's mail goes
# through, none chrooted (Debian chroots them into /var/spool/postfix,
# which these instances do not use).
POSTFIX_MASTER_CF = """\
pickup    unix  n    -      n 60   1  pickup
cleanup   unix  n    -      n -    0  cleanup
qmgr      unix  n    -      n 300  1  qmgr
rewrite   unix  -    -      n -    -  trivial-rewrite
bounce    unix  -    -      n -    0  bounce
defer     unix  -    -      n -    0  bounce
trace     unix  -    -      n -    0  bounce
verify    unix  -    -      n -    1  verify
flush     unix  n    -      n 1000? 0 flush
proxymap  unix  -    -      n -    -  proxymap
showq     unix  n    -      n -    -  showq
error     unix  -    -      n -    -  error
retry     unix  -    -      n -    -  error
discard   unix  -    -      n -    -  discard
anvil     unix  -    -      n -    1  anvil
scache    unix  -    -      n -    1  scache
postlog   unix-dgram n -    n -    1  postlogd
"""


class Postfix:
	"""Debian's Postfix as an instance of its own under `top` (nothing of
	/etc/postfix, not the system's instance): its queue, data folder and
	log are under top, its main.cf and master.cf are the common part
	above and the caller's (write_config); its SMTP service listens on
	host:port. Needs root (its master runs as root)."""
	name = kind = "postfix"

	def __init__(self, top, host="127.0.0.1"):
		self.top = top
		self.host = host
		self.port = free_port()
		self.etc = os.path.join(top, "etc")
		self.mail_root = os.path.join(top, "mail")
		self.proc = None

	def postfix(self, *argv):
		p = subprocess.run([POSTFIX_BIN, "-c", self.etc] + list(argv), capture_output=True, text=True,
				   timeout=60)
		if p.returncode != 0:
			# Postfix logs to maillog_file (stderr only on a terminal)
			raise BenchError("postfix %s: exit %d; see %s/maillog: %s" %
					 (" ".join(argv), p.returncode, self.top, self.maillog_tail()))

	def maillog_tail(self):
		try:
			with open(os.path.join(self.top, "maillog"), errors="replace") as f:
				return " | ".join(l.strip() for l in f.readlines()[-3:])
		except OSError:
			return "(no maillog)"

	def write_config(self, script, main_cf, master_cf):
		"""Make etc, spool, lib and mail under top and write main.cf
		(POSTFIX_MAIN_CF, then main_cf) and master.cf (master_cf: the
		bench's smtpd and delivery agents, then POSTFIX_MASTER_CF) there;
		check() then makes the queue."""
		if not AS_ROOT:
			raise BenchError("Postfix's master runs as root: run the bench as root")
		for d in ("etc", "spool", "lib", "mail"):
			os.mkdir(os.path.join(self.top, d), 0o755)
		with open(os.path.join(self.etc, "main.cf"), "w") as f:
			f.write(POSTFIX_MAIN_CF.format(script=script, top=self.top) + main_cf)
		with open(os.path.join(self.etc, "master.cf"), "w") as f:
			f.write(master_cf + POSTFIX_MASTER_CF)

	def check(self):
		"""Give the data folder to mail_owner; `postfix check` (which
		also creates the queue's folders)."""
		pw = subprocess.run([POSTCONF_BIN, "-c", self.etc, "-h", "mail_owner"], capture_output=True, text=True).stdout.strip()
		owner = pwd.getpwnam(pw or "postfix")
		chown_tree(os.path.join(self.top, "lib"), owner.pw_uid, owner.pw_gid)
		self.postfix("check")

	def start(self):
		# start-fg: master stays a child of postfix-script, which waits for it
		self.proc = start_server([POSTFIX_BIN, "-c", self.etc, "start-fg"], os.path.join(self.top, "postfix.out"))
		wait_answer(self, lambda: smtp_greeting(self.port, self.host))

	def mem_pid(self):
		"""master (it makes a session of its own, so it is not in the
		process group of postfix-script)."""
		with open(os.path.join(self.top, "spool", "pid", "master.pid")) as f:
			return int(f.read().split()[0])

	def stop(self):
		if self.proc is None:
			return
		master = None
		try:
			master = self.mem_pid()
		except (OSError, ValueError, IndexError):
			pass
		try:
			self.postfix("stop")
		except (BenchError, subprocess.SubprocessError) as e:
			log("postfix stop: %s" % e)
		if master is not None:
			try:
				os.killpg(master, signal.SIGKILL)    # its session: only what it started
			except (ProcessLookupError, PermissionError):
				pass
		stop_proc(self.proc)
		self.proc = None

	def version(self):
		try:
			return subprocess.run([POSTCONF_BIN, "-c", self.etc, "-h", "mail_version"], capture_output=True, text=True,
					      timeout=10).stdout.strip() or "?"
		except (OSError, subprocess.SubprocessError):
			return "?"


class Sink:
	"""Postfix's smtp-sink on a free loopback port: answers every command
	at once (AUTH included) and keeps nothing, so a load generator's own
	ceiling on this machine."""
	name = "smtp-sink"

	def __init__(self, top):
		self.top = top
		self.port = free_port()
		self.proc = None

	def start(self):
		user = ["-u", "nobody"] if AS_ROOT else []     # it refuses to run as root
		self.proc = start_server([SMTP_SINK] + user + ["127.0.0.1:%d" % self.port, "1000"],
					 os.path.join(self.top, "smtp-sink.out"))
		wait_answer(self, lambda: smtp_greeting(self.port))

	def stop(self):
		stop_proc(self.proc)


spread_result = "not spread"    # what run()'s spread_folders did, for the reports


def spread_folders(top):
	"""Mark top as the top of a directory tree for ext4's inode allocator
	(chattr +T), so that each folder made in it goes to a block group of
	its own (Orlov picks a group with few folders and many free inodes:
	very likely one no other folder of the bench uses) and the files made
	under it stay near it. Without a journal, ext4 skips, on every new
	inode, each inode of the group freed in the last 60 s, or 360 s once
	its inode-table block is dirty, as long as that block is cached
	(ialloc.c, recently_deleted), and scans again from the start each
	time. Postfix's 22,000 deleted queue files would then slow the next
	server's file creations in the same group: tern alone at 10 sessions,
	after 25,000 deletions in a sibling folder, spent 1,367 us of CPU per
	message, and 843 with the parent marked. Returns what it did (a file
	system without the flag is left as it is)."""
	try:
		p = subprocess.run(["chattr", "+T", top], capture_output=True, text=True, timeout=30)
	except (OSError, subprocess.SubprocessError) as e:
		return "not spread (chattr: %s)" % e
	if p.returncode != 0:
		return "not spread (chattr +T: %s)" % (p.stderr.strip()[-200:] or "exit %d" % p.returncode)
	return "each server's folder in block groups of its own (chattr +T)"


def settle_disk():
	"""Before a server's runs: write everything back and, as root, drop the
	page cache, so that each server starts from the same state, with
	nothing of another's in memory or still to write. Returns what it
	did."""
	os.sync()
	try:
		with open("/proc/sys/vm/drop_caches", "w") as f:
			f.write("3\n")
		return "written back, page cache dropped"
	except OSError as e:
		return "written back (page cache not dropped: %s)" % e.strerror


def cli(main):
	"""A bench script's entry: exit with main()'s status, or 1 after a
	BenchError."""
	try:
		sys.exit(main())
	except BenchError as e:
		log("FAILED: %s" % e)
		sys.exit(1)


def machine_line():
	cpu = "?"
	try:
		with open("/proc/cpuinfo") as f:
			for line in f:
				if line.startswith("model name"):
					cpu = line.split(":", 1)[1].strip()
					break
	except OSError:
		pass
	mem = "?"
	try:
		with open("/proc/meminfo") as f:
			mem = "%d MiB" % (int(f.readline().split()[1]) // 1024)
	except (OSError, ValueError, IndexError):
		pass
	return "machine: %d cores (nproc), %s, %s RAM, kernel %s" % (os.cpu_count() or 0, cpu, mem, os.uname().release)


def run(prefix, deadline, body):
	"""Run body(top, servers) with a fresh temporary folder `top` (0755, so
	that servers running as nobody can reach their parts of it) and a
	deadline of `deadline` seconds. Whatever happens, every server body
	appended to `servers` is stopped and top is removed (kept with
	BENCH_KEEP=1). Returns the exit status: body's, or 1 on a BenchError."""
	top = tempfile.mkdtemp(prefix=prefix)
	os.chmod(top, 0o755)
	global spread_result
	spread_result = spread_folders(top)
	log("bench folder %s: %s" % (top, spread_result))
	servers = []

	def on_alarm(signum, frame):
		raise DeadlineError("deadline of %d s reached" % deadline)

	signal.signal(signal.SIGALRM, on_alarm)
	signal.signal(signal.SIGTERM, lambda s, f: sys.exit(1))
	signal.alarm(deadline)
	try:
		return body(top, servers)
	except BenchError as e:
		log("FAILED: %s" % e)
		return 1
	finally:
		signal.alarm(0)
		for srv in servers:
			try:
				srv.stop()
			except Exception as e:    # keep cleaning up
				log("stopping %s: %s" % (srv.name, e))
		if os.environ.get("BENCH_KEEP"):
			log("kept %s" % top)
		else:
			shutil.rmtree(top, ignore_errors=True)


if __name__ == "__main__":
	if sys.argv[1:2] == ["--count"] and len(sys.argv) == 9:
		sys.exit(count_main(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], int(sys.argv[6]),
				    int(sys.argv[7]), float(sys.argv[8])))
	print("usage: benchlib.py --count tern|postfix ROOT DOMAIN LOCAL ACCOUNTS EXPECT TIMEOUT", file=sys.stderr)
	sys.exit(2)
