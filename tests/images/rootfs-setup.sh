#!/bin/sh
# Runs inside the freshly debootstrapped root file system (chroot), called by
# tests/images/build.sh. Turns it into a container image that boots systemd as
# PID 1, unprivileged, and whose apt uses the build machine's mirror.
#
# Environment (set by build.sh):
#   SUITE            Debian suite of the image (bookworm, trixie, ...)
#   MIRROR           main archive URI, taken from the build machine's sources
#   WITH_UPDATES     1 to add SUITE-updates from MIRROR
#   SECURITY_MIRROR  security archive URI, empty when the machine has none
set -eu

: "${SUITE:?}" "${MIRROR:?}"
WITH_UPDATES=${WITH_UPDATES:-0}
SECURITY_MIRROR=${SECURITY_MIRROR:-}
keyring=/usr/share/keyrings/debian-archive-keyring.gpg

# --- apt: deb822 sources for this suite, on the same mirror ------------------
rm -f /etc/apt/sources.list
suites=$SUITE
[ "$WITH_UPDATES" = 1 ] && suites="$SUITE $SUITE-updates"
{
  printf 'Types: deb\nURIs: %s\nSuites: %s\nComponents: main\nSigned-By: %s\n' \
    "$MIRROR" "$suites" "$keyring"
  if [ -n "$SECURITY_MIRROR" ]; then
    printf '\nTypes: deb\nURIs: %s\nSuites: %s-security\nComponents: main\nSigned-By: %s\n' \
      "$SECURITY_MIRROR" "$SUITE" "$keyring"
  fi
} >/etc/apt/sources.list.d/debian.sources

# No recommends, like a lean server; keeps role installs quick in tests.
cat >/etc/apt/apt.conf.d/90darevel-test <<'APT'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Acquire::Retries "3";
APT

# --- identity and locale ----------------------------------------------------
# Empty machine-id: systemd gives every container its own at boot.
: >/etc/machine-id
rm -f /var/lib/dbus/machine-id
echo 'LANG=C.UTF-8' >/etc/default/locale

# --- systemd in a container -------------------------------------------------
# Units that make no sense in an unprivileged container (no kernel module
# loading, no hardware, no real consoles, read-only /sys and /proc/sys);
# masked so that `systemctl is-system-running` says running, not degraded.
# tmp.mount: trixie mounts a tmpfs on /tmp, which fails unprivileged; /tmp
# stays on the container's file system (as on bookworm).
for unit in \
  systemd-modules-load.service \
  systemd-udevd.service systemd-udev-trigger.service systemd-udev-settle.service \
  systemd-udevd-control.socket systemd-udevd-kernel.socket \
  systemd-remount-fs.service \
  systemd-sysctl.service \
  systemd-firstboot.service \
  tmp.mount \
  sys-kernel-config.mount sys-kernel-debug.mount sys-kernel-tracing.mount \
  sys-fs-fuse-connections.mount dev-hugepages.mount \
  getty.target console-getty.service \
  e2scrub_all.timer e2scrub_reap.service \
  apt-daily.timer apt-daily-upgrade.timer \
  fstrim.timer
do
  ln -sf /dev/null "/etc/systemd/system/$unit"
done

# --- make it small ----------------------------------------------------------
apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/cache/apt/archives/*.deb \
  /var/cache/apt/archives/partial/* /var/cache/debconf/*-old /var/lib/dpkg/*-old \
  /var/log/*.log /var/log/apt/* /tmp/* /var/tmp/* \
  /usr/share/doc/* /usr/share/man/* /usr/share/info/*
