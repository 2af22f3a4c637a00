#!/usr/bin/env bash
# Builds a tiny guest from what Debian installed on this machine, nothing downloaded:
# the kernel of linux-image-amd64 and an initramfs of busybox-static. It boots in about
# a second, prints "guest: ready" on its serial console, and powers off on an ACPI power
# button press, unless booted with "guest.acpi=ignore" on its command line: then it
# ignores the request, as a hung guest would, which is what the destroy fallback is for.
#
# Usage: scripts/vm/build-guest.sh OUT_DIR   (writes OUT_DIR/vmlinuz and OUT_DIR/initrd.img)
set -euo pipefail

out=${1:?usage: build-guest.sh OUT_DIR}
die() { echo "build-guest: $*" >&2; exit 1; }

kver=${KERNEL_VERSION:-$(find /boot -maxdepth 1 -name 'vmlinuz-*' -printf '%f\n' | sed 's/^vmlinuz-//' | sort -V | tail -n1)}
[ -n "$kver" ] && [ -r "/boot/vmlinuz-$kver" ] || die "no kernel in /boot: install the Debian package linux-image-amd64"
busybox=/bin/busybox
[ -x "$busybox" ] || die "no $busybox: install the Debian package busybox-static"
# A dynamic busybox would need its libraries in the initramfs; only the static one works alone.
if command -v file >/dev/null && ! LC_ALL=C file -b "$busybox" | grep -q "statically linked"; then
  die "$busybox is not statically linked: install busybox-static rather than busybox"
fi
modules=/lib/modules/$kver/kernel
# The power button and the input events that acpid reads are modules in Debian's kernel.
mods=("$modules/drivers/acpi/button.ko" "$modules/drivers/input/evdev.ko")
for m in "${mods[@]}"; do [ -r "$m" ] || die "missing kernel module $m (is linux-image-$kver complete?)"; done

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,lib/modules,etc/acpi/PWRF}
cp "$busybox" "$root/bin/busybox"
for m in "${mods[@]}"; do cp "$m" "$root/lib/modules/"; done

cat >"$root/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs dev /dev
if grep -q 'guest.acpi=ignore' /proc/cmdline; then
  echo "guest: ignoring ACPI"
else
  insmod /lib/modules/evdev.ko
  insmod /lib/modules/button.ko
  # busybox acpid runs /etc/acpi/PWRF/00000080 on a power button press, and logs it on the console.
  acpid -c /etc/acpi -l /dev/console
  echo "guest: ACPI power button on"
fi
echo "guest: ready"
# pid 1 must never exit: the kernel would panic.
while :; do sleep 3600; done
INIT
cat >"$root/etc/acpi/PWRF/00000080" <<'PWRF'
#!/bin/sh
echo "guest: power button, powering off"
sync
poweroff -f
PWRF
chmod +x "$root/init" "$root/etc/acpi/PWRF/00000080"

mkdir -p "$out"
cp "/boot/vmlinuz-$kver" "$out/vmlinuz"
(cd "$root" && find . -print0 | cpio --null --create --format=newc --quiet) | gzip -9 >"$out/initrd.img"
echo "built $out/vmlinuz (kernel $kver) and $out/initrd.img ($(du -k "$out/initrd.img" | cut -f1) KiB)"
