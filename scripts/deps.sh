#!/bin/sh
# deps.sh [test|bench] - install, idempotently, every Debian package that
# building and running tern needs; with `test`, also the peers the tests
# talk to (Dovecot's tools, Postfix); with `bench`, the servers the
# benchmarks compare against (Dovecot's POP3, Postfix). Called by `make
# run`, (with test) `make test`, (bench) `make bench`.
set -eu

PACKAGES="
build-essential cmake pkg-config clang libclang-rt-14-dev
libuv1-dev libssl-dev libc-ares-dev libsqlite3-dev libargon2-dev
libcrypt-dev libinih-dev zlib1g-dev libidn2-dev libcmocka-dev
python3 python3-pytest openssl curl fetchmail swaks iproute2 util-linux
"
# Real peers for interoperability tests: Dovecot's own tools write and read
# the Maildir + dovecot-uidlist that tern imports and exports; its imap
# binary (dovecot-imapd), run over a pipe, gives the ENVELOPE and
# BODYSTRUCTURE answers of tests/unit/mime-corpus/regen.py. Neither
# listens on a port by itself.
# swaks speaks TLS (--tls, the SMTP tests) only with these two, which
# are merely Recommends of swaks. Postfix is a real sending MTA for the
# SMTP tests, run from a folder of its own (tests/e2e/test_smtp_postfix.py),
# and the MX tern's queue delivers to, the sender that relays to tern and
# a satellite logging in to tern's submission port
# (tests/e2e/test_relay_postfix.py), whose client's SASL PLAIN and LOGIN
# are in libsasl2-modules (only a Recommends of Postfix's libsasl2-2).
# mutt reads a message over IMAP in batch mode (tests/e2e/test_imap_fetch.py);
# isync's mbsync keeps a Maildir in sync over IMAP (test_imap_clients.py).
# dkimpy (python3-dkim, with python3-nacl for Ed25519) and OpenDKIM's
# verifier (opendkim -t, run from a configuration of its own; its daemon
# is not started) check the DKIM signatures tern makes
# (tests/e2e/test_dkim.py). dnsmasq (the binary alone, no service) is the
# real DNS server of the resolver's tests (tests/unit/test-dns.c), run on
# a loopback port from a configuration file the test writes, and of
# tests/e2e/test_relay.py, where dig (bind9-dnsutils) reads the DKIM
# record back from it for dkimpy. pytest-xdist runs the e2e test files in
# parallel (make e2e).
TEST_PACKAGES="dovecot-core dovecot-imapd libnet-ssleay-perl libio-socket-ssl-perl postfix libsasl2-modules mutt isync python3-dkim python3-nacl opendkim dnsmasq-base bind9-dnsutils python3-pytest-xdist"
if [ "${1:-}" = test ]; then
	PACKAGES="$PACKAGES $TEST_PACKAGES"
fi
# The benchmarks run Dovecot's POP3 server (bench/pop3_bench.py) and
# Postfix, whose smtp-source is also the SMTP load generator
# (bench/smtp_bench.py), and Postfix relaying with SASL by Dovecot's auth
# service (dovecot-core; bench/relay_bench.py), each from a configuration
# of their own.
BENCH_PACKAGES="dovecot-core dovecot-pop3d dovecot-imapd postfix"
if [ "${1:-}" = bench ]; then
	PACKAGES="$PACKAGES $BENCH_PACKAGES"
fi

missing=""
for p in $PACKAGES; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done

[ -z "$missing" ] && exit 0

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
	SUDO="sudo"
fi
echo "deps: installing:$missing" >&2
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q
# Installing a daemon package must not start it: tests run Dovecot's tools
# directly. policy-rc.d is Debian's switch for that during installation.
guard=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
	$SUDO chmod 755 /usr/sbin/policy-rc.d
	guard=1
fi
# Postfix's installation asks what kind of mail system this is; "No
# configuration" writes no /etc/postfix/main.cf and sets up no system
# mail service: the tests and the bench run Postfix from a folder of
# their own.
case " $missing " in
*" postfix "*)
	echo "postfix postfix/main_mailer_type select No configuration" |
		$SUDO debconf-set-selections
	;;
esac
# shellcheck disable=SC2086
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing || status=$?
if [ -n "$guard" ]; then
	$SUDO rm -f /usr/sbin/policy-rc.d
fi
exit "${status:-0}"
