#!/usr/bin/env bash
# Build the local "bare cloud VM" base image used by Molecule scenarios and the local VM.
#
#   scripts/build-base-image.sh [IMAGE]            # default: cams/debian-systemd:bookworm
#   CAMS_DEBIAN_SUITE=trixie scripts/build-base-image.sh   # Debian 13: cams/debian-systemd:trixie
#   FORCE=1 scripts/build-base-image.sh            # rebuild even if the image exists
#
# The image is built from scratch with debootstrap (no registry needed) and imported with
# `docker import`. It boots systemd as PID 1 (CMD /lib/systemd/systemd) and contains what a
# minimal Debian cloud VM has: systemd, dbus, python3 (+apt bindings), sudo, openssh-server,
# ca-certificates, curl, iproute2, procps, locales (en_US.UTF-8 + C.UTF-8).
#
# Env:
#   CAMS_BASE_IMAGE      image name:tag           (default cams/debian-systemd:<suite>; arg 1 wins)
#   CAMS_DEBIAN_SUITE    Debian suite             (default bookworm; trixie for Debian 13)
#   CAMS_DEBIAN_MIRROR   Debian mirror            (default http://deb.debian.org/debian)
#   CAMS_DEBIAN_SECURITY security mirror          (default http://deb.debian.org/debian-security)
#   CAMS_EXTRA_PACKAGES  extra packages, comma separated (default empty)
#   FORCE=1              rebuild even when the image exists
# Needs: root (or sudo), debootstrap, a running Docker engine (scripts/ensure-docker.sh).
set -euo pipefail

SUITE="${CAMS_DEBIAN_SUITE:-bookworm}"
IMAGE="${1:-${CAMS_BASE_IMAGE:-cams/debian-systemd:$SUITE}}"
MIRROR="${CAMS_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
SECURITY_MIRROR="${CAMS_DEBIAN_SECURITY:-http://deb.debian.org/debian-security}"
EXTRA="${CAMS_EXTRA_PACKAGES:-}"
FORCE="${FORCE:-0}"

log() { printf '[build-base-image] %s\n' "$*"; }
die() { printf '[build-base-image] ERROR: %s\n' "$*" >&2; exit 1; }

command -v docker >/dev/null 2>&1 || die "docker not found: run scripts/ensure-docker.sh"
docker info >/dev/null 2>&1 || die "docker engine not answering: run scripts/ensure-docker.sh"

if [ "$FORCE" != "1" ] && docker image inspect "$IMAGE" >/dev/null 2>&1; then
  log "image $IMAGE already exists (FORCE=1 to rebuild)"
  exit 0
fi

OLD_ID="$(docker image inspect -f '{{.Id}}' "$IMAGE" 2>/dev/null || true)"

[ "$(id -u)" -eq 0 ] || die "debootstrap needs root: run with sudo"
if ! command -v debootstrap >/dev/null 2>&1; then
  command -v apt-get >/dev/null 2>&1 || die "debootstrap not found and apt-get unavailable"
  log "installing debootstrap"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends debootstrap \
    || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends debootstrap; }
fi

PACKAGES="systemd,systemd-sysv,dbus,python3,python3-apt,sudo,openssh-server,ca-certificates,curl,iproute2,iputils-ping,procps,locales,gnupg"
[ -n "$EXTRA" ] && PACKAGES="$PACKAGES,$EXTRA"

WORK="$(mktemp -d /tmp/cams-base-image.XXXXXX)"
ROOTFS="$WORK/rootfs"
cleanup() {
  # make sure nothing is still mounted inside the chroot before deleting it
  for m in proc sys dev/pts dev; do
    if mountpoint -q "$ROOTFS/$m" 2>/dev/null; then umount -l "$ROOTFS/$m" || true; fi
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

start=$(date +%s)
log "debootstrap $SUITE (minbase) from $MIRROR into $ROOTFS"
debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$ROOTFS" "$MIRROR" \
  > "$WORK/debootstrap.log" 2>&1 || { tail -n 40 "$WORK/debootstrap.log" >&2; die "debootstrap failed"; }

log "configuring the root filesystem"
# apt sources: main + updates + security
cat > "$ROOTFS/etc/apt/sources.list" <<SRC
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb $SECURITY_MIRROR $SUITE-security main
SRC

# keep the image lean: no docs/man pages/translations from future installs either
cat > "$ROOTFS/etc/dpkg/dpkg.cfg.d/01-cams-nodoc" <<'CFG'
path-exclude=/usr/share/doc/*
path-include=/usr/share/doc/*/copyright
path-exclude=/usr/share/man/*
path-exclude=/usr/share/info/*
path-exclude=/usr/share/locale/*
path-include=/usr/share/locale/locale.alias
CFG
cat > "$ROOTFS/etc/apt/apt.conf.d/01-cams-container" <<'CFG'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Acquire::Languages "none";
CFG

# locales
sed -i 's/^# *\(en_US.UTF-8 UTF-8\)/\1/' "$ROOTFS/etc/locale.gen"
chroot "$ROOTFS" /usr/sbin/locale-gen >/dev/null
echo 'LANG=C.UTF-8' > "$ROOTFS/etc/default/locale"

# identity: each container gets its own machine-id at boot; hostname comes from docker
: > "$ROOTFS/etc/machine-id"
rm -f "$ROOTFS/var/lib/dbus/machine-id"
: > "$ROOTFS/etc/hostname"

# ssh host keys are generated per container at first boot (not baked into the image)
rm -f "$ROOTFS"/etc/ssh/ssh_host_*
mkdir -p "$ROOTFS/etc/systemd/system/ssh.service.d"
cat > "$ROOTFS/etc/systemd/system/ssh.service.d/10-cams-hostkeys.conf" <<'CFG'
[Service]
ExecStartPre=
ExecStartPre=/usr/bin/ssh-keygen -A
ExecStartPre=/usr/sbin/sshd -t
CFG
# sshd is present (as on a cloud VM) but only the local VM enables it
chroot "$ROOTFS" systemctl disable ssh.service >/dev/null 2>&1 || true

# mask units that make no sense (or hang) inside a container
MASK_UNITS="getty.target console-getty.service getty@tty1.service serial-getty@.service \
  systemd-logind.service systemd-udevd.service systemd-udevd-control.socket systemd-udevd-kernel.socket \
  systemd-udev-trigger.service systemd-modules-load.service sys-kernel-config.mount \
  sys-kernel-debug.mount sys-kernel-tracing.mount sys-fs-fuse-connections.mount \
  systemd-remount-fs.service systemd-firstboot.service systemd-hwdb-update.service \
  apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer \
  getty-static.service"
for u in $MASK_UNITS; do
  ln -sf /dev/null "$ROOTFS/etc/systemd/system/$u"
done
# boot into multi-user (no graphical target)
ln -sf /lib/systemd/system/multi-user.target "$ROOTFS/etc/systemd/system/default.target"

# policy-rc.d from debootstrap would block service starts at package install: remove it
rm -f "$ROOTFS/usr/sbin/policy-rc.d"

# shrink: apt caches and lists (the first `apt-get update` in a container refills them)
chroot "$ROOTFS" apt-get clean
rm -rf "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/var/cache/apt/*.bin \
       "$ROOTFS"/var/log/*.log "$ROOTFS"/var/log/apt/* \
       "$ROOTFS"/usr/share/doc/*/changelog* "$ROOTFS"/usr/share/man/* "$ROOTFS"/usr/share/info/* \
       "$ROOTFS"/tmp/* "$ROOTFS"/var/tmp/*
# Like a VM's stale package lists: dated long ago, so the first play refreshes them (apt's cache_valid_time
# goes by this directory's age).
touch -d @0 "$ROOTFS/var/lib/apt/lists"
find "$ROOTFS/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} + 2>/dev/null || true

log "importing into docker as $IMAGE"
# `docker import --change` cannot set STOPSIGNAL, so import under a temporary tag and add the
# image config with a two-line Dockerfile (FROM a local image: no registry access needed).
TMP_TAG="cams-rootfs-import:$$"
tar -C "$ROOTFS" --numeric-owner -c . | docker import - "$TMP_TAG" >/dev/null
cat > "$WORK/Dockerfile" <<DOCKERFILE
FROM $TMP_TAG
ENV container=docker LANG=C.UTF-8
LABEL org.opencontainers.image.title="cams-debian-systemd" org.cams.debian.suite="$SUITE"
STOPSIGNAL SIGRTMIN+3
CMD ["/lib/systemd/systemd"]
DOCKERFILE
mkdir -p "$WORK/ctx"
# the classic builder never tries to resolve FROM against a registry
if ! DOCKER_BUILDKIT=0 docker build -q -t "$IMAGE" -f "$WORK/Dockerfile" "$WORK/ctx" >/dev/null 2>"$WORK/build.err"; then
  cat "$WORK/build.err" >&2
  docker rmi "$TMP_TAG" >/dev/null 2>&1 || true
  die "docker build failed"
fi
docker rmi "$TMP_TAG" >/dev/null 2>&1 || true
# drop the image this build replaced (kept automatically while a container still uses it)
if [ -n "$OLD_ID" ] && [ "$OLD_ID" != "$(docker image inspect -f '{{.Id}}' "$IMAGE")" ]; then
  docker rmi "$OLD_ID" >/dev/null 2>&1 || true
fi

log "built $IMAGE in $(( $(date +%s) - start ))s ($(docker image inspect -f '{{.Size}}' "$IMAGE" | awk '{printf "%.0f MB", $1/1e6}'))"
