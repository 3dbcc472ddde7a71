# benchlib - what the benchmarks share: free loopback ports, the memory of
# a process tree, starting and stopping servers (tern and its rivals) in a
# session of their own, the machine line, and one run with a deadline that
# always stops every server and removes its temporary folder.
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TERN_BIN = os.environ.get("TERN_BIN", os.path.join(REPO, "build", "tern"))
DOVECOT_BIN = os.environ.get("DOVECOT_BIN", "/usr/sbin/dovecot")
NOBODY_UID, NOBODY_GID = 65534, 65534
AS_ROOT = os.geteuid() == 0


class BenchError(Exception):
	pass


def log(msg):
	print("bench: " + msg, file=sys.stderr, flush=True)


def env_int(name, default):
	return int(os.environ.get(name, default))


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
	servers = []

	def on_alarm(signum, frame):
		raise BenchError("deadline of %d s reached" % deadline)

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
