# Swift on Linux: Debian trixie's swiftlang in a chroot kept in the cache (bookworm has no Swift,
# and the host library must not depend on a newer glibc). Sourced by scripts/test and scripts/bench.
#   swift_chroot_ready          creates or reuses the chroot (about a minute the first time)
#   swift_run DIR CMD...        mounts, runs CMD inside the chroot with the project at /project, unmounts
#   swift_bench DIR LIBDIR      the cost of the bindings from Swift: the package's FfiBench, built in
#                               release and run on the library in DIR/LIBDIR against the mock in
#                               CAAS_BACKEND (sandbox token CAAS_SANDBOX_TOKEN)

CAAS_CACHE=${CAAS_CACHE:-$HOME/.cache/caas-companion}
SWIFT_CHROOT=${CAAS_SWIFT_CHROOT:-$CAAS_CACHE/swift-trixie}

SWIFT_PACKAGES="swiftlang libc6-dev ca-certificates"

# The Debian archive this machine's own apt uses (the entry for its release's main suite, not the
# security or a vendor's archive), from the deb822 .sources files or the one-line .list files:
# the chroot is built from the same mirror, whatever network the machine is on. A `mirror+file`
# list (Debian's cloud images) gives its first mirror; only http(s) archives are taken.
debian_mirror() {
  local codename mirror
  codename=$(. /etc/os-release && echo "$VERSION_CODENAME")
  mirror=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk -v release="$codename" '
    function flush() { if (uri != "" && deb && suite && main && enabled) { print uri; found = 1; exit } uri = ""; deb = 0; suite = 0; main = 0; enabled = 1 }
    BEGIN { enabled = 1 }
    /^[ \t]*$/ { flush(); next }
    /^Types:/ { for (i = 2; i <= NF; i++) if ($i == "deb") deb = 1 }
    /^URIs:/ { uri = $2 }
    /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == release) suite = 1 }
    /^Components:/ { for (i = 2; i <= NF; i++) if ($i == "main") main = 1 }
    /^Enabled:/ { enabled = ($2 != "no") }
    END { if (!found) flush() }')
  if [ -z "$mirror" ]; then
    mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | sed 's/\[[^]]*\] *//' |
      awk -v release="$codename" '$1 == "deb" && $3 == release && / main/ { print $2; exit }')
  fi
  case "$mirror" in
    mirror+file:*) mirror=$(grep -m1 -o '^https\?://[^[:space:]]*' "${mirror#mirror+file:}" 2>/dev/null) ;;
  esac
  case "$mirror" in
    http://* | https://*) echo "$mirror" ;;
    *) echo "error: no http(s) Debian archive for $codename in /etc/apt/sources.list*" >&2; return 1 ;;
  esac
}

swift_chroot_ready() {
  if [ ! -x "$SWIFT_CHROOT/usr/bin/dpkg" ]; then
    command -v debootstrap >/dev/null || apt_install debootstrap
    log "creating the Swift chroot in $SWIFT_CHROOT (once)"
    swift_unmount
    rm -rf --one-file-system "$SWIFT_CHROOT"
    mkdir -p "$SWIFT_CHROOT"
    local mirror
    mirror=$(debian_mirror)
    debootstrap --variant=minbase trixie "$SWIFT_CHROOT" "$mirror" >/dev/null
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

swift_bench() {
  local project=$1 libdir=$2
  swift_run "$project" /usr/bin/env CAAS_LIBRARY_DIR="/project/$libdir" LD_LIBRARY_PATH="/project/$libdir" \
    CAAS_BACKEND="$CAAS_BACKEND" CAAS_SANDBOX_TOKEN="$CAAS_SANDBOX_TOKEN" \
    /bin/sh -c 'cd /project/ios && built=$(swift build -c release --product FfiBench 2>&1) || { echo "$built"; exit 1; }
      .build/release/FfiBench'
}
