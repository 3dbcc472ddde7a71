#!/bin/sh
# run-demo.sh - `make run`: start tern in the foreground on 127.0.0.1 with a
# demo account. The first run creates ./var (configuration, data folder,
# demo@localhost with a random password and a welcome message); later runs
# reuse it. Every step is idempotent: what exists is kept, what is missing
# is made, and the password printed is the one the account has.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
# TERN_BIN, TERN_DEMO_VAR and TERN_DEMO_FALLBACK let the end-to-end test
# run this script without touching the developer's ./var or /var/lib.
tern="${TERN_BIN:-$top/build/tern}"
var="${TERN_DEMO_VAR:-$top/var}"
fallback="${TERN_DEMO_FALLBACK:-/var/lib/tern-demo}"

run_user=""
if [ "$(id -u)" -eq 0 ]; then
	# As root tern drops to an unprivileged user; create one the way a
	# package would.
	run_user=tern
	if ! id tern >/dev/null 2>&1; then
		useradd --system --no-create-home --home-dir /nonexistent \
			--shell /usr/sbin/nologin tern
	fi
fi

mkdir -p "$var"
var=$(cd "$var" && pwd)
conf="$var/tern.conf"
pwfile="$var/demo-password"
if [ -n "$run_user" ]; then
	# the tern user must pass through ./var to reach ./var/data; the
	# files here are 0600 and the data folder 0700
	chmod 711 "$var"
else
	chmod 700 "$var"
fi

if [ ! -f "$conf" ]; then
	data="$var/data"
	if [ -n "$run_user" ]; then
		if ! runuser -u "$run_user" -- test -x "$var"; then
			# ./var sits below a folder the tern user cannot enter
			# (e.g. /root); keep the data where it can, in a folder
			# of this clone's own (named by a hash of its ./var), so
			# that two clones never share one.
			clone=$(printf '%s' "$var" | sha256sum | cut -c1-12)
			[ -d "$fallback" ] || mkdir -p -m 711 "$fallback"
			data="$fallback/$clone"
		fi
	fi
	cat >"$conf" <<CONF
# tern demo configuration, written by make run. Reference: docs/configuration.md
[server]
hostname = localhost
data_dir = $data
user = ${run_user:-tern}

[listen]
smtp = 127.0.0.1:2525
submission = 127.0.0.1:2587
submissions = 127.0.0.1:2465
pop3 = 127.0.0.1:2110
pop3s = 127.0.0.1:2995
imap = 127.0.0.1:2143
imaps = 127.0.0.1:2993

[auth]
# the demo lets clients on this machine log in without TLS
allow_plaintext_loopback = yes

[smtp]
# port 25's pregreet test would make each new client wait 6 seconds for
# the greeting (then remember it for a day); the demo greets at once
pregreet_delay = 0
CONF
	chmod 600 "$conf"
fi

if ! "$tern" -c "$conf" domain list 2>/dev/null | grep -qx localhost; then
	"$tern" -c "$conf" domain add localhost
fi
if [ ! -s "$pwfile" ]; then
	(umask 077; openssl rand -base64 12 | tr -d '/+=' | cut -c1-12 >"$pwfile")
fi
pw=$(cat "$pwfile")
if "$tern" -c "$conf" user list localhost | grep -q '^demo@localhost '; then
	# keep the account and its mail; its password is the one printed
	printf '%s\n' "$pw" | "$tern" -c "$conf" user passwd demo@localhost
else
	printf '%s\n' "$pw" | "$tern" -c "$conf" user add demo@localhost
	welcome=$(mktemp -d)
	chmod 755 "$welcome"
	cat >"$welcome/welcome.mbox" <<MSG
From tern@localhost $(LC_ALL=C date -u '+%a %b %e %H:%M:%S %Y')
From: tern <postmaster@localhost>
To: demo@localhost
Subject: Welcome to tern
Date: $(LC_ALL=C date -R)
Message-ID: <welcome.$(date +%s)@localhost>

This message was put in your INBOX by make run.
Read it with any IMAP or POP3 client; see README.md.

MSG
	chmod 644 "$welcome/welcome.mbox"
	"$tern" -c "$conf" import mbox demo@localhost "$welcome/welcome.mbox" >/dev/null
	rm -rf "$welcome"
fi
# RFC 5321 4.5.1: postmaster@ every domain reaches someone
if ! "$tern" -c "$conf" alias list | grep -q '^postmaster@localhost '; then
	"$tern" -c "$conf" alias add postmaster@localhost demo@localhost
fi

cat <<INFO

tern demo
  configuration  $conf
  data folder    $(sed -n 's/^data_dir = //p' "$conf")
  account        demo@localhost
  password       $pw

  smtp         127.0.0.1:2525  (mail for local domains; STARTTLS)
  submission   127.0.0.1:2587  (STARTTLS, then AUTH; plain AUTH allowed from this machine)
  submissions  127.0.0.1:2465  (implicit TLS, AUTH)
  pop3         127.0.0.1:2110  (STLS; plain login allowed from this machine)
  pop3s        127.0.0.1:2995  (implicit TLS, self-signed certificate)
  imap         127.0.0.1:2143  (STARTTLS; plain login allowed from this machine)
  imaps        127.0.0.1:2993  (implicit TLS, self-signed certificate)

Send demo@localhost a message:
  swaks --server 127.0.0.1:2525 --to demo@localhost
  swaks --server 127.0.0.1:2587 --tls --auth-user demo@localhost --auth-password '$pw' \\
        --from demo@localhost --to demo@localhost
  printf 'Subject: hello\\r\\n\\r\\nHi!\\r\\n' > /tmp/msg.eml
  curl smtp://127.0.0.1:2525 --mail-from you@example.org --mail-rcpt demo@localhost --upload-file /tmp/msg.eml
  curl -k smtps://127.0.0.1:2465 -u 'demo@localhost:$pw' --mail-from demo@localhost \\
       --mail-rcpt demo@localhost --upload-file /tmp/msg.eml
  printf 'Subject: hello\\n\\nHi!\\n' | $tern -c $conf sendmail demo@localhost   (as cron would)

Read it:
  curl -k --ssl-reqd imap://127.0.0.1:2143/ -u 'demo@localhost:$pw'      (the mailboxes)
  curl -k imaps://127.0.0.1:2993/INBOX -X 'SEARCH ALL' -u 'demo@localhost:$pw'
  curl -k 'imaps://127.0.0.1:2993/INBOX/;UID=1' -u 'demo@localhost:$pw'  (message UID 1)
  curl -k imaps://127.0.0.1:2993/INBOX -T /tmp/msg.eml -u 'demo@localhost:$pw'  (APPEND it)
  curl -k --ssl-reqd pop3://127.0.0.1:2110/ -u 'demo@localhost:$pw'      (the list)
  curl -k pop3s://127.0.0.1:2995/2 -u 'demo@localhost:$pw'               (message 2)
  openssl s_client -quiet -crlf -starttls pop3 -connect 127.0.0.1:2110
  openssl s_client -quiet -crlf -starttls imap -connect 127.0.0.1:2143

In Thunderbird (Account Settings > Add Mail Account > Configure manually):
  incoming   IMAP, server 127.0.0.1, port 2993, SSL/TLS, normal password
             (or port 2143, STARTTLS)
  outgoing   SMTP, server 127.0.0.1, port 2465, SSL/TLS, normal password
  user name  demo@localhost (both)
  The certificate is self-signed: confirm the security exception once.

Stop with Ctrl-C.

INFO
exec "$tern" serve -c "$conf"
