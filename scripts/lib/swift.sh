# Swift on Linux: Debian trixie's swiftlang in a chroot kept in the cache (bookworm has no Swift,
# and the host library must not depend on a newer glibc). Sourced by scripts/test.
#   swift_chroot_ready          creates or reuses the chroot (about a minute the first time)
#   swift_run DIR CMD...        mounts, runs CMD inside the chroot with the project at /project, unmounts

CAAS_CACHE=${CAAS_CACHE:-$HOME/.cache/caas-companion}
SWIFT_CHROOT=${CAAS_SWIFT_CHROOT:-$CAAS_CACHE/swift-trixie}

SWIFT_PACKAGES="swiftlang libc6-dev ca-certificates"

swift_chroot_ready() {
  if [ ! -x "$SWIFT_CHROOT/usr/bin/dpkg" ]; then
    command -v debootstrap >/dev/null || apt_install debootstrap
    log "creating the Swift chroot in $SWIFT_CHROOT (once)"
    swift_unmount
    rm -rf --one-file-system "$SWIFT_CHROOT"
    mkdir -p "$SWIFT_CHROOT"
    debootstrap --variant=minbase trixie "$SWIFT_CHROOT" http://deb.debian.org/debian >/dev/null
  fi
  # shellcheck disable=SC2086
  if ! chroot "$SWIFT_CHROOT" dpkg -s $SWIFT_PACKAGES >/dev/null 2>&1; then
    log "installing $SWIFT_PACKAGES in the Swift chroot"
    cp /etc/resolv.conf "$SWIFT_CHROOT/etc/resolv.conf"
    swift_mount
    chroot "$SWIFT_CHROOT" /bin/sh -c "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $SWIFT_PACKAGES >/dev/null"
    swift_unmount
  fi
}

swift_mount() {
  mkdir -p "$SWIFT_CHROOT/proc" "$SWIFT_CHROOT/sys" "$SWIFT_CHROOT/dev" "$SWIFT_CHROOT/project"
  mountpoint -q "$SWIFT_CHROOT/proc" || mount -t proc proc "$SWIFT_CHROOT/proc"
  mountpoint -q "$SWIFT_CHROOT/sys" || mount -t sysfs sys "$SWIFT_CHROOT/sys"
  mountpoint -q "$SWIFT_CHROOT/dev" || mount --bind /dev "$SWIFT_CHROOT/dev"
  mountpoint -q "$SWIFT_CHROOT/dev/pts" || mount --bind /dev/pts "$SWIFT_CHROOT/dev/pts"
}

# Innermost first: rm -rf must never meet a bind mount onto the host.
swift_unmount() {
  for m in project dev/pts dev sys proc; do
    if mountpoint -q "$SWIFT_CHROOT/$m" 2>/dev/null; then umount "$SWIFT_CHROOT/$m" || umount -l "$SWIFT_CHROOT/$m"; fi
  done
}

swift_run() {
  local project=$1; shift
  swift_unmount # a mount left by an interrupted run may point at another checkout
  swift_mount
  mount --bind "$project" "$SWIFT_CHROOT/project"
  local status=0
  chroot "$SWIFT_CHROOT" /usr/bin/env -i PATH=/usr/bin:/bin HOME=/root "$@" || status=$?
  swift_unmount
  return $status
}
