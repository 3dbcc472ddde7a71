#!/bin/sh
# deps.sh - install, idempotently, every Debian package that building,
# testing and running tern needs. Called by `make run` and `make test`.
set -eu

PACKAGES="
build-essential cmake pkg-config clang
libuv1-dev libssl-dev libc-ares-dev libsqlite3-dev libargon2-dev
libcrypt-dev libinih-dev zlib1g-dev libidn2-dev libcmocka-dev
python3 python3-pytest openssl curl fetchmail swaks
"

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
# shellcheck disable=SC2086
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing
