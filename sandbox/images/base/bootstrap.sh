#!/bin/sh
# Build a minimal Debian root filesystem with debootstrap and import it as a Docker image.
#
#   bootstrap.sh SUITE TAG        e.g.  bootstrap.sh forky dnl/debian:forky
#
# Why: no container registry is reachable from this project's machines, so `FROM debian:...`
# cannot be pulled. This makes the equivalent image locally from Debian's package mirror
# (the only network traffic: debootstrap downloading .debs from that mirror).
#
# Environment (optional, set by sandbox/src/images.ts):
#   IMPORT_LABEL   "key=value" label added to the imported image (the builder's context hash)
#   MIRROR         Debian mirror URI; default: the one this machine's apt uses, else deb.debian.org
#
# Needs root and debootstrap. Never pulls from a registry. Removes its temporary rootfs on exit.
set -eu

if [ "$#" -ne 2 ]; then
  echo "usage: $0 SUITE TAG" >&2
  exit 2
fi
SUITE=$1
TAG=$2

if ! command -v debootstrap >/dev/null 2>&1; then
  echo "Install debootstrap (apt-get install debootstrap) or load a debian:$SUITE image." >&2
  exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "debootstrap needs root: run the image builder as root." >&2
  exit 1
fi

# The mirror this machine's apt already uses (first non-security URI), so we talk to no new host.
detect_mirror() {
  uri=""
  if [ -r /etc/apt/sources.list.d/debian.sources ]; then
    uri=$(awk 'tolower($1) == "uris:" { for (i = 2; i <= NF; i++) if ($i !~ /security/) { print $i; exit } }' \
      /etc/apt/sources.list.d/debian.sources)
  fi
  if [ -z "$uri" ] && [ -r /etc/apt/sources.list ]; then
    # deb [options] URI suite components...
    uri=$(sed -n 's/^[[:space:]]*deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\?\([^[:space:]]\+\).*/\2/p' /etc/apt/sources.list \
      | grep -v security | head -n 1 || true)
  fi
  echo "${uri:-http://deb.debian.org/debian}"
}
MIRROR=${MIRROR:-$(detect_mirror)}
# Security updates live next to the main archive on Debian's mirrors (…/debian -> …/debian-security).
SECURITY_MIRROR=$(echo "$MIRROR" | sed 's#/debian/*$#/debian-security#')

# Suites newer than this machine's debootstrap (e.g. forky on bookworm) bootstrap with the sid script,
# which is what debootstrap itself symlinks testing/unstable suites to.
SCRIPT=""
if [ ! -e "/usr/share/debootstrap/scripts/$SUITE" ]; then
  SCRIPT=/usr/share/debootstrap/scripts/sid
fi

ROOTFS=$(mktemp -d "${TMPDIR:-/var/tmp}/dnl-rootfs-$SUITE.XXXXXX")
cleanup() { rm -rf "$ROOTFS"; }
trap cleanup EXIT INT TERM

echo "debootstrap --variant=minbase $SUITE from $MIRROR${SCRIPT:+ (script: $SCRIPT)}"
start=$(date +%s)
# shellcheck disable=SC2086 # $SCRIPT is intentionally empty or one word
debootstrap --variant=minbase "$SUITE" "$ROOTFS" "$MIRROR" $SCRIPT
echo "debootstrap done in $(( $(date +%s) - start )) s"

# --- Make the rootfs behave like Debian's official container images -------------------------
# apt sources for this suite, so `apt-get install` works in Dockerfiles built FROM this image.
rm -f "$ROOTFS/etc/apt/sources.list"
case "$SUITE" in
  # testing/unstable: no -updates/-security worth having
  forky|testing|sid|unstable) suites="$SUITE"; security="" ;;
  *) suites="$SUITE $SUITE-updates"; security="$SUITE-security" ;;
esac
{
  printf 'Types: deb\nURIs: %s\nSuites: %s\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
    "$MIRROR" "$suites"
  if [ -n "$security" ]; then
    printf '\nTypes: deb\nURIs: %s\nSuites: %s\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
      "$SECURITY_MIRROR" "$security"
  fi
} > "$ROOTFS/etc/apt/sources.list.d/debian.sources"
# Newer keyring packages ship .pgp files; keep the Signed-By path valid either way.
if [ ! -e "$ROOTFS/usr/share/keyrings/debian-archive-keyring.gpg" ] && \
   [ -e "$ROOTFS/usr/share/keyrings/debian-archive-keyring.pgp" ]; then
  ln -s debian-archive-keyring.pgp "$ROOTFS/usr/share/keyrings/debian-archive-keyring.gpg"
fi

# If this machine's apt accepts the mirror's expired Release files (a frozen mirror/cache:
# Acquire::Check-Valid-Until/Check-Date "false"), the image's apt must too, or every
# `apt-get update` in a Dockerfile fails with "Release file ... is expired".
if command -v apt-config >/dev/null 2>&1; then
  for opt in Acquire::Check-Valid-Until Acquire::Check-Date; do
    if [ "$(apt-config dump --format '%v%n' "$opt" 2>/dev/null | head -n 1)" = false ]; then
      echo "$opt \"false\";"
    fi
  done > "$ROOTFS/etc/apt/apt.conf.d/99dnl-mirror"
  [ -s "$ROOTFS/etc/apt/apt.conf.d/99dnl-mirror" ] || rm -f "$ROOTFS/etc/apt/apt.conf.d/99dnl-mirror"
fi

# Same apt tweaks as the official debian images (debuerreotype): no caches, no translations,
# suggested packages not kept by autoremove, and no service starts during image builds
# (docker.io's postinst would otherwise try to start dockerd inside `docker build`).
cat > "$ROOTFS/etc/apt/apt.conf.d/docker-clean" <<'CONF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
CONF
echo 'Acquire::Languages "none";' > "$ROOTFS/etc/apt/apt.conf.d/docker-no-languages"
echo 'Apt::AutoRemove::SuggestsImportant "false";' > "$ROOTFS/etc/apt/apt.conf.d/docker-autoremove-suggests"
printf '#!/bin/sh\nexit 101\n' > "$ROOTFS/usr/sbin/policy-rc.d"
chmod 755 "$ROOTFS/usr/sbin/policy-rc.d"

# Docker provides these per container; don't bake this machine's copies into the image.
rm -f "$ROOTFS/etc/resolv.conf" "$ROOTFS/etc/hostname"
: > "$ROOTFS/etc/hostname"
rm -rf "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/var/cache/apt/*.bin "$ROOTFS"/var/cache/apt/archives/*.deb \
  "$ROOTFS"/var/log/bootstrap.log "$ROOTFS"/tmp/* "$ROOTFS"/var/tmp/*

echo "docker import -> $TAG"
if [ -n "${IMPORT_LABEL:-}" ]; then
  tar --numeric-owner -C "$ROOTFS" -c . | docker import -c 'CMD ["bash"]' -c "LABEL $IMPORT_LABEL" - "$TAG"
else
  tar --numeric-owner -C "$ROOTFS" -c . | docker import -c 'CMD ["bash"]' - "$TAG"
fi
