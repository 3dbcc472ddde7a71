#!/bin/sh
# run-demo.sh - `make run`: start tern in the foreground on 127.0.0.1 with a
# demo account. The first run creates ./var (configuration, data folder,
# demo@localhost with a random password and a welcome message); later runs
# reuse it.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
# TERN_BIN and TERN_DEMO_VAR let the end-to-end test run this script
# without touching the developer's ./var.
tern="${TERN_BIN:-$top/build/tern}"
var="${TERN_DEMO_VAR:-$top/var}"
conf="$var/tern.conf"
pwfile="$var/demo-password"

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
			# (e.g. /root); keep the data where it can.
			data=/var/lib/tern-demo
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
CONF
	chmod 600 "$conf"
fi

if [ ! -f "$pwfile" ]; then
	"$tern" domain add localhost -c "$conf"
	pw=$(openssl rand -base64 12 | tr -d '/+=' | cut -c1-12)
	printf '%s\n' "$pw" | "$tern" user add demo@localhost -c "$conf"
	umask 077
	printf '%s\n' "$pw" >"$pwfile"
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
Fetch it with any POP3 client; see README.md.

MSG
	chmod 644 "$welcome/welcome.mbox"
	"$tern" import mbox demo@localhost "$welcome/welcome.mbox" -c "$conf" >/dev/null
	rm -rf "$welcome"
fi
pw=$(cat "$pwfile")

cat <<INFO

tern demo
  configuration  $conf
  account        demo@localhost
  password       $pw

  pop3   127.0.0.1:2110  (STLS; plain login allowed from this machine)
  pop3s  127.0.0.1:2995  (implicit TLS, self-signed certificate)

Try:
  curl -k --ssl-reqd pop3://127.0.0.1:2110/1 -u 'demo@localhost:$pw'
  curl -k pop3s://127.0.0.1:2995/ -u 'demo@localhost:$pw'
  openssl s_client -quiet -crlf -starttls pop3 -connect 127.0.0.1:2110

Stop with Ctrl-C.

INFO
exec "$tern" serve -c "$conf"
