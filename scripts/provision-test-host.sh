#!/usr/bin/env bash
# Provision this host for the Lifeboat test suites. Idempotent; run as root.
#
#   scripts/provision-test-host.sh [ZFS_FUSE_PID_FILE]
#
# - installs the Debian packages the suites need (apt-get update once, only when something is missing)
# - starts the zfs-fuse daemon when it is not running and writes the PID of the daemon *it* started
#   to $1 (the test wrapper stops it by that PID afterwards: `kill <pid>`, then wait; zfs-fuse takes a
#   few seconds to exit. Nothing is written when a daemon was already up. All of the daemon's stdio is
#   redirected, so a caller waiting for this script's pipes to close does not hang.)
# - fails loudly, naming the reason, when something cannot be provided (/dev/fuse, root, packages).
# sshd is NOT started here: tests/helpers/sshd.ts starts its own sshd on a free port per suite.
set -euo pipefail

# Debian packages the test suites need. Other suites add theirs here (e.g. sanoid, chromium).
# debootstrap … iproute2: the OpenZFS tier's VM (scripts/openzfs-vm.sh builds its image in a chroot
# and runs it under qemu; OpenZFS itself is never installed on this host).
# prometheus: its promtool checks the README's alert rules against the metrics (its service is not
# started, see policy-rc.d below).
# openssl: the email notification tests make their SMTP sink's TLS certificate with it.
# systemd: its systemd-analyze verifies the units in packaging/systemd (nothing is started with it).
# nginx: the reverse-proxy example (packaging/nginx) runs in front of a real server in a test, on a
# free port with its own config (its service is not started, see policy-rc.d below).
TEST_PACKAGES=(zfs-fuse openssh-server openssh-client procps
  debootstrap qemu-utils qemu-system-x86 e2fsprogs iproute2 prometheus openssl systemd nginx)
# Extra packages from the environment (space separated), e.g. LIFEBOAT_TEST_PACKAGES="chromium".
if [[ -n "${LIFEBOAT_TEST_PACKAGES:-}" ]]; then
  read -r -a _extra <<<"$LIFEBOAT_TEST_PACKAGES"
  TEST_PACKAGES+=("${_extra[@]}")
fi

PID_FILE="${1:-}"

die() { echo "provision-test-host: FAILED: $*" >&2; exit 1; }
say() { echo "provision-test-host: $*" >&2; }

[[ "$(id -u)" == "0" ]] || die "must run as root (zfs-fuse needs root and /dev/fuse)"

# --- packages -------------------------------------------------------------------------------
missing=()
for p in "${TEST_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
if ((${#missing[@]})); then
  command -v apt-get >/dev/null || die "apt-get not found; cannot install: ${missing[*]}"
  say "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || die "apt-get update failed"
  # Do not let package scripts start services (sshd on :22, zfs-fuse via init): the tests start
  # what they need themselves. policy-rc.d exit 101 = "action forbidden".
  created_policy=0
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d && created_policy=1
  fi
  rc=0
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || rc=$?
  if ((created_policy)); then rm -f /usr/sbin/policy-rc.d; fi
  ((rc == 0)) || die "apt-get install ${missing[*]} failed (exit $rc)"
fi

for bin in zfs zpool zfs-fuse ssh ssh-keygen debootstrap qemu-img qemu-system-x86_64 mkfs.ext4 ss promtool openssl; do
  command -v "$bin" >/dev/null || die "'$bin' not found after installing ${TEST_PACKAGES[*]}"
done
[[ -x /usr/sbin/sshd ]] || die "/usr/sbin/sshd not found (package openssh-server)"
mkdir -p /run/sshd  # sshd refuses to start without its privilege-separation directory

# --- zfs-fuse daemon ------------------------------------------------------------------------
[[ -e /dev/fuse ]] || die "/dev/fuse is missing (the container needs the fuse device for zfs-fuse)"
[[ -c /dev/fuse ]] || die "/dev/fuse is not a character device"

zfs_ok() { timeout 20 zpool list -H >/dev/null 2>&1; }

if ! zfs_ok && pgrep -x zfs-fuse >/dev/null 2>&1; then
  # a daemon that is still starting or still shutting down: wait for it to settle
  say "a zfs-fuse process exists but does not answer yet; waiting up to 15 s"
  for _ in $(seq 1 75); do
    if zfs_ok || ! pgrep -x zfs-fuse >/dev/null 2>&1; then break; fi
    sleep 0.2
  done
fi

if zfs_ok; then
  say "zfs-fuse daemon already running"
else
  if pgrep -x zfs-fuse >/dev/null 2>&1; then
    die "zfs-fuse (pid $(pgrep -x zfs-fuse | tr '\n' ' ')) runs but does not answer 'zpool list'; stop it and retry"
  fi
  mkdir -p /var/lock/zfs /etc/zfs
  say "starting zfs-fuse"
  # --no-daemon keeps it in the foreground so $! is the daemon's own PID.
  LOG="${TMPDIR:-/tmp}/zfs-fuse.log"
  zfs-fuse --no-daemon </dev/null >"$LOG" 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do
    if zfs_ok; then break; fi
    if ! kill -0 "$pid" 2>/dev/null; then
      die "zfs-fuse exited at start (see $LOG and syslog): $(tail -n 5 "$LOG" 2>/dev/null | tr '\n' ' ')"
    fi
    sleep 0.2
  done
  zfs_ok || { kill "$pid" 2>/dev/null || true; die "zfs-fuse did not answer 'zpool list' within 20 s"; }
  if [[ -n "$PID_FILE" ]]; then echo "$pid" >"$PID_FILE"; fi
  say "zfs-fuse running, pid $pid"
fi
exit 0
