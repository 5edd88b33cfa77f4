#!/usr/bin/env bash
# The OpenZFS test tier's host: a Debian 12 guest with the real OpenZFS 2.3 kernel module, run by
# qemu in software emulation (TCG) and reached over SSH on 127.0.0.1 only.
#
#   scripts/openzfs-vm.sh build          build the guest image once (staged, resumable, cached);
#                                        prints the cache dir on stdout
#   scripts/openzfs-vm.sh start          boot a VM on a fresh copy-on-write overlay in a new run dir;
#                                        returns when ssh answers; prints the path of its vm.json
#   scripts/openzfs-vm.sh stop RUNDIR    power that VM off (ssh), then SIGTERM/SIGKILL its qemu PID;
#                                        deletes RUNDIR
#   scripts/openzfs-vm.sh ssh RUNDIR [COMMAND...]   a root shell (or a command) in that VM
#   scripts/openzfs-vm.sh key            print the cache key of this script's build inputs
#
# Why a VM: this host's kernel cannot load modules, and OpenZFS on the host is impossible anyway
# (zfs-dkms / zfsutils-linux Break / Conflict with zfs-fuse, which the zfs-fuse tier needs). /dev/kvm
# here does not boot Debian kernels (nested PVM), so the guest runs under TCG: slow but real.
#
# Why a chroot: the guest's zfs.ko is compiled by dkms inside a debootstrapped Debian tree for the
# guest's kernel, so nothing of OpenZFS is ever installed on the host. The compilers, headers and
# dkms are purged again before the tree becomes an ext4 image.
#
# Cache: /var/cache/lifeboat-test/openzfs-vm/<key>/, where <key> hashes the "build inputs" section
# below (package lists, guest settings, the build stages' code). Editing that section gives a new
# key and so a new build; the other keys' directories are removed after a build once no VM uses them.
# Each stage leaves a stamp, so an interrupted build resumes at the stage that did not finish.
#
# Network: qemu's user-mode network with restrict=on (the guest cannot reach the host or anything
# beyond it). The only way in is the forward 127.0.0.1:<port> -> guest :22; tests reach the host's
# control plane from the guest through ssh -R tunnels on loopback.
#
# Environment (optional): LIFEBOAT_OZVM_OWNER_PID (start: stop the VM when that PID ends),
# LIFEBOAT_OZVM_CACHE_BASE (cache root), LIFEBOAT_OZVM_RUN_BASE (where run dirs
# are made, default $TMPDIR or /tmp), LIFEBOAT_OZVM_MIRROR / LIFEBOAT_OZVM_SECURITY_MIRROR (Debian
# mirrors), LIFEBOAT_OZVM_BOOT_TIMEOUT (s, default 600), LIFEBOAT_OZVM_MEM (MiB, default 1536),
# LIFEBOAT_OZVM_CPUS (default 2).
set -euo pipefail

SELF=$(readlink -f "${BASH_SOURCE[0]}")
CACHE_BASE=${LIFEBOAT_OZVM_CACHE_BASE:-/var/cache/lifeboat-test/openzfs-vm}
RUN_BASE=${LIFEBOAT_OZVM_RUN_BASE:-${TMPDIR:-/tmp}}
MIRROR=${LIFEBOAT_OZVM_MIRROR:-http://deb.debian.org/debian}
SECURITY_MIRROR=${LIFEBOAT_OZVM_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
BOOT_TIMEOUT=${LIFEBOAT_OZVM_BOOT_TIMEOUT:-600}
GUEST_MEM_MIB=${LIFEBOAT_OZVM_MEM:-1536}
GUEST_CPUS=${LIFEBOAT_OZVM_CPUS:-2}
QEMU=qemu-system-x86_64
# TCG: a plain x86-64 model plus the SSE/AES extensions. AVX (-cpu max) is slower when emulated.
QEMU_CPU=qemu64,+ssse3,+sse4.1,+sse4.2,+popcnt,+aes,+pclmulqdq
RUN_MARKER=.lifeboat-openzfs-vm-run

log() { printf '[openzfs-vm %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { printf '[openzfs-vm %(%H:%M:%S)T] FAILED: %s\n' -1 "$*" >&2; exit 1; }
# Any other failing command (set -e) names itself, its line and its status before the script exits.
set -E
trap 'rc=$?; printf "[openzfs-vm %(%H:%M:%S)T] FAILED: line %s: %s (exit %s)\n" -1 "$LINENO" "$BASH_COMMAND" "$rc" >&2' ERR
secs_since() { echo $(( $(date +%s) - $1 )); }

# ===== build inputs: begin ====================================================================
# Everything between these two markers is hashed into the cache key. Change anything here and the
# next `build` makes a new image under a new key.
GUEST_SUITE=bookworm
ZFS_SUITE=bookworm-backports              # OpenZFS 2.3.x (contrib); bookworm itself has 2.1
GUEST_PKGS=(systemd-sysv udev kmod dbus openssh-server iproute2 procps psmisc linux-image-amd64 initramfs-tools)
BUILD_ONLY_PKGS=(linux-headers-amd64 build-essential dkms)   # purged after the module is built
ZFS_PKGS=(zfs-dkms zfsutils-linux)       # zfsutils-linux brings python3 (arc_summary)
# syncoid (Debian's sanoid 2.1.0, from the guest suite): the many-datasets bench compares against it
# on real OpenZFS (README, Benchmarks); its timers are masked, nothing runs it but the bench.
TOOL_PKGS=(sanoid)
GUEST_HOSTNAME=lb-openzfs
ROOT_LABEL=lbozvm-root
ARC_MAX_MIB=384
IMAGE_HEADROOM_MIB=6144                  # free space in the guest's / for file-backed test pools
# Kernel module trees nobody needs in a headless virtio guest (about 170 MB).
PRUNE_MODULE_DIRS=(sound drivers/gpu drivers/media drivers/infiniband drivers/iio drivers/staging
  drivers/net/wireless drivers/bluetooth drivers/isdn drivers/input/touchscreen net/bluetooth
  net/mac80211 net/wireless)
# Every VM starts from the image with no pool: the boot-time import/mount units (and the udev
# settle they wait for, ~10 s under emulation) only delay sshd. zfs.ko comes from modules-load.d.
MASK_UNITS=(apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer e2scrub_all.timer
  e2scrub_reap.service fstrim.timer man-db.timer systemd-timesyncd.service
  systemd-networkd-wait-online.service getty@tty1.service serial-getty@ttyS0.service
  zfs-zed.service zfs-load-module.service zfs-import-cache.service zfs-import-scan.service
  zfs-mount.service zfs-share.service zfs-volume-wait.service systemd-udev-settle.service
  sanoid.timer sanoid.service sanoid-prune.service)

chroot_mount() {
  local fs=$1 type=$2 opts=${3:-}
  mkdir -p "$ROOTFS/$fs"
  mountpoint -q "$ROOTFS/$fs" || mount -t "$type" ${opts:+-o "$opts"} "$type" "$ROOTFS/$fs"
}
chroot_umount_all() {
  local m
  for m in dev/pts sys proc; do
    [[ -d "$ROOTFS/$m" ]] || continue
    if mountpoint -q "$ROOTFS/$m"; then umount "$ROOTFS/$m" 2>/dev/null || umount -l "$ROOTFS/$m"; fi
  done
}
in_guest_tree() {
  env -i LC_ALL=C.UTF-8 HOME=/root PATH=/usr/sbin:/usr/bin:/sbin:/bin \
    DEBIAN_FRONTEND=noninteractive DEBCONF_NONINTERACTIVE_SEEN=true chroot "$ROOTFS" "$@"
}
guest_apt() {
  in_guest_tree apt-get -y -q --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "$@"
}
# Run a stage's command with its output in the stage's log; on failure show the log's tail and stop.
# In the background and waited for: bash runs a trap only once its foreground command is over, so
# a TERM would otherwise wait for a dkms compile (build_interrupted stops the whole tree at once).
logged() {
  local logf=$1; shift
  "$@" >>"$logf" 2>&1 </dev/null &
  if ! wait "$!"; then
    tail -n 40 "$logf" >&2
    die "'$*' failed (full log: $logf)"
  fi
}
guest_kernel() {
  local k
  k=$(find "$ROOTFS/boot" -maxdepth 1 -name 'vmlinuz-*' -printf '%f\n' 2>/dev/null | sed 's/^vmlinuz-//' | sort -V | tail -n 1)
  [[ -n "$k" ]] || die "no kernel in $ROOTFS/boot"
  echo "$k"
}

stage_bootstrap() {
  local logf=$KEYDIR/logs/bootstrap.log
  chroot_umount_all
  rm -rf --one-file-system "$ROOTFS"
  logged "$logf" debootstrap --variant=minbase "$GUEST_SUITE" "$ROOTFS" "$MIRROR"
}

stage_packages() {
  local logf=$KEYDIR/logs/packages.log
  # No service may start inside the build tree: sshd would bind the HOST's port 22.
  printf '#!/bin/sh\nexit 101\n' >"$ROOTFS/usr/sbin/policy-rc.d"
  chmod 0755 "$ROOTFS/usr/sbin/policy-rc.d"
  cat >"$ROOTFS/etc/apt/sources.list" <<EOF
deb $MIRROR $GUEST_SUITE main contrib
deb $MIRROR $GUEST_SUITE-updates main contrib
deb $SECURITY_MIRROR $GUEST_SUITE-security main contrib
deb $MIRROR $ZFS_SUITE main contrib
EOF
  printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' >"$ROOTFS/etc/apt/apt.conf.d/99lifeboat"
  cp /etc/resolv.conf "$ROOTFS/etc/resolv.conf"
  chroot_mount proc proc
  chroot_mount sys sysfs
  chroot_mount dev/pts devpts newinstance,ptmxmode=0666
  # A build stopped during an install leaves dpkg half-done in the tree (apt then refuses to run):
  # finish that first, with the tree's /proc and /sys mounted as the packages' scripts expect.
  logged "$logf" in_guest_tree dpkg --configure -a
  logged "$logf" guest_apt update
  logged "$logf" guest_apt install "${GUEST_PKGS[@]}" "${BUILD_ONLY_PKGS[@]}"
  local kver; kver=$(guest_kernel)
  # dkms builds for the tree's newest kernel when it sees it runs in a chroot; check, do it otherwise.
  logged "$logf" guest_apt install -t "$ZFS_SUITE" "${ZFS_PKGS[@]}"
  if ! compgen -G "$ROOTFS/lib/modules/$kver/updates/dkms/zfs.ko*" >/dev/null; then
    log "dkms did not build zfs for $kver during the install; building it now"
    local zver
    zver=$(in_guest_tree dpkg-query -W -f='${Version}' zfs-dkms | sed 's/-[^-]*$//')
    logged "$logf" in_guest_tree dkms install -m zfs -v "$zver" -k "$kver"
  fi
  compgen -G "$ROOTFS/lib/modules/$kver/updates/dkms/zfs.ko*" >/dev/null || die "dkms built no zfs.ko for the guest kernel $kver (log: $logf)"
  logged "$logf" guest_apt install "${TOOL_PKGS[@]}"
  chroot_umount_all
}

stage_configure() {
  local kver; kver=$(guest_kernel)
  [[ -f "$KEYDIR/id_ed25519" ]] || ssh-keygen -q -t ed25519 -N '' -C lifeboat-openzfs-vm -f "$KEYDIR/id_ed25519"
  chmod 0600 "$KEYDIR/id_ed25519"
  echo "$GUEST_HOSTNAME" >"$ROOTFS/etc/hostname"
  printf '127.0.0.1\tlocalhost\n127.0.1.1\t%s\n::1\tlocalhost ip6-localhost ip6-loopback\n' "$GUEST_HOSTNAME" >"$ROOTFS/etc/hosts"
  printf 'LABEL=%s / ext4 defaults,noatime,discard,errors=remount-ro 0 1\n' "$ROOT_LABEL" >"$ROOTFS/etc/fstab"
  # qemu's user network, restricted: a fixed address on the virtual link, no gateway, no DNS.
  echo '# no name service in the Lifeboat test VM' >"$ROOTFS/etc/resolv.conf"
  mkdir -p "$ROOTFS/etc/systemd/network"
  printf '[Match]\nName=en*\n\n[Network]\nAddress=10.0.2.15/24\nLinkLocalAddressing=no\nIPv6AcceptRA=no\n' \
    >"$ROOTFS/etc/systemd/network/10-lifeboat.network"
  # journal in RAM only: nothing to keep across the VM's one life
  mkdir -p "$ROOTFS/etc/systemd/journald.conf.d"
  printf '[Journal]\nStorage=volatile\nRuntimeMaxUse=32M\n' >"$ROOTFS/etc/systemd/journald.conf.d/lifeboat.conf"
  # ssh: root by the build key only; many parallel sessions (a multiplexed master per test process,
  # runner streams); no per-login motd scripts (each one is a fork under emulation).
  install -d -m 0700 "$ROOTFS/root/.ssh"
  install -m 0600 "$KEYDIR/id_ed25519.pub" "$ROOTFS/root/.ssh/authorized_keys"
  cat >"$ROOTFS/etc/ssh/sshd_config.d/lifeboat.conf" <<'EOF'
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UseDNS no
MaxSessions 64
MaxStartups 64:30:128
AllowTcpForwarding yes
GatewayPorts no
PrintMotd no
PrintLastLog no
EOF
  rm -f "$ROOTFS/etc/update-motd.d/"*
  in_guest_tree passwd -l root >/dev/null
  # the unprivileged backup target user; tests install and remove its keys
  in_guest_tree id lbtarget >/dev/null 2>&1 || in_guest_tree useradd -m -s /bin/sh lbtarget
  in_guest_tree install -d -m 0700 -o lbtarget -g lbtarget /home/lbtarget/.ssh
  # OpenZFS: module at boot, bounded ARC (the guest has 1.5 GiB), a host id for pool ownership
  echo zfs >"$ROOTFS/etc/modules-load.d/zfs.conf"
  echo "options zfs zfs_arc_max=$((ARC_MAX_MIB * 1024 * 1024))" >"$ROOTFS/etc/modprobe.d/zfs.conf"
  [[ -s "$ROOTFS/etc/hostid" ]] || in_guest_tree zgenhostid
  in_guest_tree systemctl enable systemd-networkd.service ssh.service >/dev/null 2>&1
  local u
  for u in "${MASK_UNITS[@]}"; do in_guest_tree systemctl mask "$u" >/dev/null 2>&1; done
  echo "$kver" >"$KEYDIR/kernel-version"
}

stage_slim() {
  local logf=$KEYDIR/logs/slim.log kver
  kver=$(guest_kernel)
  chroot_mount proc proc
  chroot_mount sys sysfs
  chroot_mount dev/pts devpts newinstance,ptmxmode=0666
  # Keep the dkms-built modules outside dkms' tree: purging zfs-dkms deletes that tree.
  mkdir -p "$ROOTFS/lib/modules/$kver/extra/openzfs"
  cp -a "$ROOTFS/lib/modules/$kver/updates/dkms/"*.ko* "$ROOTFS/lib/modules/$kver/extra/openzfs/"
  in_guest_tree dpkg-query -W -f='${Version}\n' zfsutils-linux >"$KEYDIR/zfs-package-version"
  logged "$logf" in_guest_tree apt-mark manual zfsutils-linux "${GUEST_PKGS[@]}" "${TOOL_PKGS[@]}"
  local headers
  mapfile -t headers < <(in_guest_tree dpkg-query -W -f='${Package}\n' 'linux-headers-*')
  logged "$logf" guest_apt purge zfs-dkms dkms build-essential "${headers[@]}"
  logged "$logf" guest_apt -o APT::AutoRemove::RecommendsImportant=false -o APT::AutoRemove::SuggestsImportant=false autoremove --purge
  logged "$logf" guest_apt clean
  local d
  for d in "${PRUNE_MODULE_DIRS[@]}"; do rm -rf "$ROOTFS/lib/modules/$kver/kernel/$d"; done
  rm -rf "$ROOTFS/lib/modules/$kver/updates" "$ROOTFS/var/lib/dkms" "$ROOTFS/usr/src/"* \
    "$ROOTFS/var/lib/apt/lists/"* "$ROOTFS/var/cache/apt/"* "$ROOTFS/usr/share/doc/"* "$ROOTFS/usr/share/man/"* \
    "$ROOTFS/usr/share/info/"* "$ROOTFS/usr/share/locale/"* "$ROOTFS/var/log/"*.log
  logged "$logf" in_guest_tree depmod -a "$kver"
  in_guest_tree modinfo -k "$kver" -F version zfs >"$KEYDIR/zfs-module-version" || die "zfs.ko is not loadable by name after slimming (modinfo)"
  local tools mod
  tools=$(sed 's/-[^-]*$//' "$KEYDIR/zfs-package-version")
  mod=$(sed 's/-[^-]*$//' "$KEYDIR/zfs-module-version")
  [[ "$tools" == "$mod" ]] || die "userland $tools and kernel module $mod differ"
  [[ -x "$ROOTFS/usr/bin/python3" ]] || die "python3 is missing in the guest (zfsutils-linux should bring it)"
  [[ -x "$ROOTFS/usr/sbin/syncoid" ]] || die "syncoid is missing in the guest (package sanoid)"
  rm -f "$ROOTFS/usr/sbin/policy-rc.d"
  chroot_umount_all
}

stage_image() {
  local kver used size
  kver=$(guest_kernel)
  chroot_umount_all
  cp "$ROOTFS/boot/vmlinuz-$kver" "$KEYDIR/vmlinuz.tmp" && mv "$KEYDIR/vmlinuz.tmp" "$KEYDIR/vmlinuz"
  cp "$ROOTFS/boot/initrd.img-$kver" "$KEYDIR/initrd.img.tmp" && mv "$KEYDIR/initrd.img.tmp" "$KEYDIR/initrd.img"
  cp "$ROOTFS/etc/ssh/ssh_host_ed25519_key.pub" "$KEYDIR/host_ed25519.pub"
  used=$(du -sxm "$ROOTFS" | cut -f1)
  size=$((used + IMAGE_HEADROOM_MIB))
  rm -f "$KEYDIR/rootfs.img.tmp"
  logged "$KEYDIR/logs/image.log" mkfs.ext4 -q -F -m 0 -L "$ROOT_LABEL" -d "$ROOTFS" "$KEYDIR/rootfs.img.tmp" "${size}M"
  chmod 0444 "$KEYDIR/rootfs.img.tmp"
  mv "$KEYDIR/rootfs.img.tmp" "$KEYDIR/rootfs.img"
  echo "$used" >"$KEYDIR/rootfs-used-mib"
}
BUILD_STAGES=(bootstrap packages configure slim image)
# ===== build inputs: end ======================================================================

cache_key() {
  sed -n '/^# ===== build inputs: begin/,/^# ===== build inputs: end/p' "$SELF" | sha256sum | cut -c1-16
}
KEY=$(cache_key)
KEYDIR=$CACHE_BASE/$KEY
ROOTFS=$KEYDIR/rootfs

need_tools() {
  local t missing=()
  for t in "$@"; do command -v "$t" >/dev/null 2>&1 || missing+=("$t"); done
  ((${#missing[@]} == 0)) || die "missing host tools: ${missing[*]} (scripts/provision-test-host.sh installs debootstrap qemu-utils qemu-system-x86 e2fsprogs openssh-client)"
}

# PIDs of processes whose command line mentions PATH (a qemu using a base image or a run dir).
pids_using() {
  local f pid
  for f in /proc/[0-9]*/cmdline; do
    pid=${f#/proc/}; pid=${pid%/cmdline}
    if tr '\0' ' ' <"$f" 2>/dev/null | grep -qF -- "$1"; then echo "$pid"; fi
  done
}

prune_old_keys() {
  local d
  for d in "$CACHE_BASE"/*/; do
    d=${d%/}
    [[ "$d" == "$KEYDIR" || ! -d "$d" ]] && continue
    [[ -n "$(pids_using "$d/")" ]] && { log "keeping old build $d: a VM still uses it"; continue; }
    (
      exec 7>>"$d/.lock"
      flock -n 7 || { log "keeping old build $d: it is locked (building or starting)"; exit 0; }
      [[ -d "$d/rootfs" ]] && ROOTFS=$d/rootfs chroot_umount_all
      rm -rf --one-file-system "$d"
      log "removed old build $d"
    )
  done
}

drop_tree() { # the tree is in the image now; the image is all that `start` needs
  [[ -d "$ROOTFS" ]] || return 0
  chroot_umount_all
  rm -rf --one-file-system "$ROOTFS"
}

# Every process under this script, deepest first (apt, dpkg and the dkms compile in the chroot).
descendants() {
  local c
  for c in $(ps -o pid= --ppid "$1"); do
    descendants "$c"
    echo "$c"
  done
}
# A stopped build stops what it started, so no compile builds on holding the lock (the next build
# resumes at the stage that was running).
build_interrupted() {
  trap - TERM INT HUP ERR # the killed children's failures are expected now
  log "build interrupted: stopping its processes"
  local p left i
  left=$(descendants $$)
  for p in $left; do kill -TERM "$p" 2>/dev/null || true; done
  # debootstrap, for one, goes on after a TERM: what is still there after 5 s is killed
  for i in 1 2 3 4 5; do
    left=$(for p in $left; do kill -0 "$p" 2>/dev/null && echo "$p"; done)
    [[ -z "$left" ]] && break
    sleep 1
  done
  for p in $left; do kill -KILL "$p" 2>/dev/null || true; done
  exit 143
}

cmd_build() {
  [[ "$(id -u)" == 0 ]] || die "build must run as root (debootstrap, chroot, mount)"
  need_tools debootstrap chroot mkfs.ext4 ssh-keygen flock sha256sum
  mkdir -p "$KEYDIR/stamps" "$KEYDIR/logs"
  exec 9>>"$KEYDIR/.lock"
  if ! flock -n 9; then
    log "another build or start holds $KEYDIR/.lock; waiting (up to 60 min)"
    flock -w 3600 9 || die "gave up waiting for $KEYDIR/.lock"
  fi
  if [[ -f "$KEYDIR/stamps/complete" && -f "$KEYDIR/rootfs.img" && -f "$KEYDIR/vmlinuz" && -f "$KEYDIR/initrd.img" ]]; then
    drop_tree
    log "build $KEY is cached: $KEYDIR"
    echo "$KEYDIR"
    return 0
  fi
  if [[ -f "$KEYDIR/stamps/image" && ! -f "$KEYDIR/rootfs.img" ]]; then
    log "the cached image of $KEY is gone; building again from the start"
    rm -f "$KEYDIR/stamps/"*
  fi
  trap 'chroot_umount_all' EXIT
  trap build_interrupted TERM INT HUP
  local t_all t0 st
  t_all=$(date +%s)
  log "building the OpenZFS guest image $KEY in $KEYDIR (stage logs in $KEYDIR/logs)"
  for st in "${BUILD_STAGES[@]}"; do
    if [[ -f "$KEYDIR/stamps/$st" ]]; then log "stage $st: done earlier ($(cat "$KEYDIR/stamps/$st") s)"; continue; fi
    log "stage $st: running"
    t0=$(date +%s)
    "stage_$st"
    secs_since "$t0" >"$KEYDIR/stamps/$st"
    log "stage $st: done in $(cat "$KEYDIR/stamps/$st") s"
  done
  secs_since "$t_all" >"$KEYDIR/stamps/complete"
  drop_tree
  trap - EXIT
  log "build $KEY complete in $(cat "$KEYDIR/stamps/complete") s: kernel $(cat "$KEYDIR/kernel-version"), OpenZFS $(cat "$KEYDIR/zfs-module-version"), image $(du -h --apparent-size "$KEYDIR/rootfs.img" | cut -f1) ($(du -h "$KEYDIR/rootfs.img" | cut -f1) allocated)"
  prune_old_keys
  echo "$KEYDIR"
}

# ---------------------------------------------------------------------------------------------
# run side: these do not change the image, so they are outside the hashed section

ssh_argv() { # RUNDIR -> SSH_ARGV: ssh as root into that VM, key and host key pinned
  SSH_ARGV=(ssh -F /dev/null -i "$(cat "$1/keyfile")" -p "$(cat "$1/port")" -o IdentitiesOnly=yes -o BatchMode=yes
    -o UserKnownHostsFile="$1/known_hosts" -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes
    -o ConnectTimeout=10 -o ServerAliveInterval=10 -o ServerAliveCountMax=3 -o LogLevel=ERROR root@127.0.0.1)
}
vm_ssh() { # RUNDIR [COMMAND...]
  local SSH_ARGV
  ssh_argv "$1"; shift
  "${SSH_ARGV[@]}" "$@"
}

is_our_qemu() { # PID RUNDIR
  [[ "$1" =~ ^[0-9]+$ ]] && [[ -r "/proc/$1/cmdline" ]] && tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -qF -- "$2/"
}

kill_qemu() { # PID RUNDIR
  local pid=$1 rd=$2
  is_our_qemu "$pid" "$rd" || return 0
  log "SIGTERM to qemu PID $pid"
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do is_our_qemu "$pid" "$rd" || return 0; sleep 0.2; done
  log "SIGKILL to qemu PID $pid"
  kill -KILL "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do is_our_qemu "$pid" "$rd" || return 0; sleep 0.1; done
  die "qemu PID $pid did not exit after SIGKILL"
}

port_in_use() { [[ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]]; }

json_str() { # a JSON string for a value without quotes, backslashes or control characters
  [[ "$1" =~ ^[][A-Za-z0-9\ ./_:+~,@=-]*$ ]] || die "unexpected characters in '$1'"
  printf '"%s"' "$1"
}

START_RUNDIR=""
start_cleanup() {
  local rc=$?
  if [[ -n "$START_RUNDIR" && -d "$START_RUNDIR" ]]; then
    if [[ -f "$START_RUNDIR/qemu.pid" ]]; then kill_qemu "$(cat "$START_RUNDIR/qemu.pid")" "$START_RUNDIR" || true; fi
    rm -rf --one-file-system "$START_RUNDIR"
  fi
  exit "$rc"
}

cmd_start() {
  need_tools "$QEMU" qemu-img ssh ss flock
  [[ -f "$KEYDIR/stamps/complete" && -f "$KEYDIR/rootfs.img" ]] || die "no image for key $KEY in $KEYDIR: run '$SELF build' first"
  # shared lock: a build of another key does not remove this one while we set it up
  exec 9>>"$KEYDIR/.lock"
  flock -s -w 3600 9 || die "could not take a shared lock on $KEYDIR/.lock"
  local t0 rd port tries=0
  t0=$(date +%s)
  mkdir -p "$RUN_BASE"
  rd=$(mktemp -d "$RUN_BASE/lb-ozvm.XXXXXXXX")
  START_RUNDIR=$rd
  trap start_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  : >"$rd/$RUN_MARKER"
  echo "$KEYDIR/id_ed25519" >"$rd/keyfile"
  qemu-img create -q -f qcow2 -F raw -b "$KEYDIR/rootfs.img" "$rd/root.qcow2" || die "qemu-img create failed"
  while :; do
    port=$((20000 + RANDOM % 40000))
    port_in_use "$port" && continue
    : >"$rd/console.log"
    if "$QEMU" -name "lifeboat-openzfs,process=lb-ozvm" \
      -machine q35 -accel tcg,thread=multi,tb-size=256 -cpu "$QEMU_CPU" -smp "$GUEST_CPUS" -m "$GUEST_MEM_MIB" \
      -nodefaults -no-user-config -display none -vga none -monitor none -serial "file:$rd/console.log" \
      -kernel "$KEYDIR/vmlinuz" -initrd "$KEYDIR/initrd.img" \
      -append "root=LABEL=lbozvm-root rw console=ttyS0 quiet loglevel=4 mitigations=off tsc=reliable" \
      -drive "file=$rd/root.qcow2,if=virtio,format=qcow2,cache=writeback,discard=unmap" \
      -netdev "user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:$port-:22" -device virtio-net-pci,netdev=net0 \
      -device virtio-rng-pci \
      -pidfile "$rd/qemu.pid" -daemonize </dev/null >/dev/null 2>"$rd/qemu.err" 9>&-; then
      break
    fi
    tries=$((tries + 1))
    if grep -qi 'forward' "$rd/qemu.err" && ((tries < 20)); then continue; fi
    cat "$rd/qemu.err" >&2
    die "qemu did not start (see above)"
  done
  local pid; pid=$(cat "$rd/qemu.pid")
  echo "$port" >"$rd/port"
  printf '[127.0.0.1]:%s %s\n' "$port" "$(cut -d' ' -f1,2 "$KEYDIR/host_ed25519.pub")" >"$rd/known_hosts"
  log "qemu PID $pid: TCG, $GUEST_CPUS vCPUs, $GUEST_MEM_MIB MiB; waiting for ssh on 127.0.0.1:$port (run dir $rd)"
  while ! vm_ssh "$rd" true 2>/dev/null; do
    if ! is_our_qemu "$pid" "$rd"; then
      tail -n 40 "$rd/console.log" >&2
      die "qemu exited while the guest booted (console above)"
    fi
    if (($(secs_since "$t0") >= BOOT_TIMEOUT)); then
      tail -n 40 "$rd/console.log" >&2
      die "the guest's ssh did not answer within $BOOT_TIMEOUT s (console above)"
    fi
    sleep 1
  done
  local boot=$(($(date +%s) - t0))
  # The point of the VM: the kernel module is loaded and /dev/zfs answers.
  local facts kernel kmod
  if ! facts=$(vm_ssh "$rd" 'uname -r; cat /sys/module/zfs/version; test -c /dev/zfs && zpool list -H >/dev/null && echo zfs-ok' 2>&1) ||
    [[ "$(sed -n 3p <<<"$facts")" != zfs-ok ]]; then
    printf '%s\n' "$facts" >&2
    vm_ssh "$rd" 'journalctl -b --no-pager -u systemd-modules-load -u zfs-load-module | tail -n 30' >&2 || true
    die "OpenZFS is not usable in the guest (module not loaded or /dev/zfs missing)"
  fi
  kernel=$(sed -n 1p <<<"$facts")
  kmod=$(sed -n 2p <<<"$facts")
  {
    printf '{\n'
    printf '  "pid": %s,\n' "$pid"
    printf '  "port": %s,\n' "$port"
    printf '  "host": "127.0.0.1",\n  "user": "root",\n'
    printf '  "key": %s,\n' "$(json_str "$KEYDIR/id_ed25519")"
    printf '  "knownHosts": %s,\n' "$(json_str "$rd/known_hosts")"
    printf '  "runDir": %s,\n' "$(json_str "$rd")"
    printf '  "cacheKey": %s,\n' "$(json_str "$KEY")"
    printf '  "zfsVersion": %s,\n' "$(json_str "$kmod")"
    printf '  "kernel": %s,\n' "$(json_str "$kernel")"
    printf '  "bootSeconds": %s\n' "$boot"
    printf '}\n'
  } >"$rd/vm.json.tmp"
  mv "$rd/vm.json.tmp" "$rd/vm.json"
  log "ssh answers after $boot s: OpenZFS $kmod, guest kernel $kernel; $rd/vm.json"
  # An owner that dies without stopping its VM (SIGKILL) must not leave qemu running: a watchdog
  # stops the VM once the owner PID is gone. `stop` ends the watchdog by its PID.
  if [[ -n "${LIFEBOAT_OZVM_OWNER_PID:-}" ]]; then
    [[ "$LIFEBOAT_OZVM_OWNER_PID" =~ ^[0-9]+$ ]] || die "LIFEBOAT_OZVM_OWNER_PID must be a PID"
    setsid bash -c 'while kill -0 "$1" 2>/dev/null && [ -d "$3" ]; do sleep 5; done; [ -d "$3" ] && exec "$2" stop "$3"' \
      lb-ozvm-watch "$LIFEBOAT_OZVM_OWNER_PID" "$SELF" "$rd" </dev/null >/dev/null 2>&1 9>&- &
    echo "$!" >"$rd/watch.pid"
    log "the VM is stopped when PID $LIFEBOAT_OZVM_OWNER_PID ends (watchdog PID $!)"
  fi
  START_RUNDIR=""
  trap - EXIT INT TERM
  echo "$rd/vm.json"
}

check_rundir() {
  local rd=$1
  [[ -n "$rd" ]] || die "usage: $SELF ${2:-stop} RUNDIR"
  [[ -d "$rd" ]] || die "$rd: no such run dir"
  [[ -f "$rd/$RUN_MARKER" ]] || die "$rd is not a run dir of this script (no $RUN_MARKER); refusing to touch it"
}

cmd_stop() {
  local rd
  [[ -n "${1:-}" ]] || die "usage: $SELF stop RUNDIR"
  rd=$(readlink -f "$1") || die "$1: no such run dir"
  if [[ -f "$rd" && "$(basename "$rd")" == vm.json ]]; then rd=$(dirname "$rd"); fi  # the vm.json path works too
  check_rundir "$rd" stop
  local pid="" t0
  t0=$(date +%s)
  [[ -f "$rd/qemu.pid" ]] && pid=$(cat "$rd/qemu.pid")
  if [[ -f "$rd/watch.pid" ]]; then
    local wpid; wpid=$(cat "$rd/watch.pid")
    # the watchdog itself ends up here (it execs stop): do not signal ourselves
    if [[ "$wpid" =~ ^[0-9]+$ && "$wpid" != "$$" ]] && tr '\0' ' ' <"/proc/$wpid/cmdline" 2>/dev/null | grep -qF -- "lb-ozvm-watch"; then
      tr '\0' ' ' <"/proc/$wpid/cmdline" | grep -qF -- "$rd" && kill -TERM "$wpid" 2>/dev/null || true
    fi
  fi
  if [[ -n "$pid" ]] && is_our_qemu "$pid" "$rd"; then
    log "powering off the guest (qemu PID $pid)"
    ssh_argv "$rd"
    timeout 20 "${SSH_ARGV[@]}" 'systemctl poweroff' </dev/null >/dev/null 2>&1 || true
    for _ in $(seq 1 150); do is_our_qemu "$pid" "$rd" || break; sleep 0.2; done
    kill_qemu "$pid" "$rd"
  else
    log "qemu of $rd is not running"
  fi
  rm -rf --one-file-system "$rd"
  log "stopped and removed $rd in $(secs_since "$t0") s"
}

case "${1:-}" in
  build) cmd_build ;;
  start) cmd_start ;;
  stop) shift; cmd_stop "${1:-}" ;;
  ssh)
    shift
    rd=$(readlink -f "${1:-}") || die "usage: $SELF ssh RUNDIR [COMMAND...]"
    check_rundir "$rd" ssh
    shift
    vm_ssh "$rd" "$@"
    ;;
  key) echo "$KEY" ;;
  *) sed -n '2,12p' "$SELF" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
