#!/usr/bin/env bash
# run.sh - run an SBI guest ELF (guests/rv32/bin/sbi-*.elf, unchanged) under
# qemu-system-riscv32 with the M-mode SBI shim in this directory standing in
# for the vsim hypervisor.  A cross-check only: not part of vsim.
#
# Usage: guests/rv32/sbi/qemu/run.sh ELF
#
# Prints the guest's console output on stdout and the shim's report line
# ("shutdown reason=0 instret=...", "legacy shutdown ...", "exception
# mcause=... mepc=... mtval=...") on stderr; exits with qemu's status:
# 0 shutdown (reason none / legacy), 1 shutdown (system failure), 3 the VM
# took an exception, 4 reboot requested, 124 timeout (60 s).
#
# qemu runs with -icount shift=0,sleep=off: one instruction per ns and
# mtime at 10 MHz, i.e. 100 instructions per timer tick, and idle time
# after wfi skipped - the same timing as vsim's default cost model.
# Needs riscv64-unknown-elf-gcc and qemu-system-riscv32 (Debian:
# gcc-riscv64-unknown-elf, qemu-system-misc).
set -euo pipefail
export LC_ALL=C
[ $# -eq 1 ] || { echo "usage: $0 ELF" >&2; exit 2; }
elf="$1"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/sbi-qemu.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

riscv64-unknown-elf-gcc -march=rv32ima_zicsr -mabi=ilp32 -O2 -g0 -static \
    -nostdlib -ffreestanding -fno-builtin -Wall -Wextra -Werror \
    -Wl,--build-id=none -Wl,--no-warn-rwx-segments -T "$here/shim.ld" \
    -o "$tmp/shim.elf" "$here/shim.S" "$here/shim.c"

status=0
timeout 60 qemu-system-riscv32 -machine virt -cpu rv32,sstc=false -m 128M \
    -smp 1 -bios none -display none -monitor none -serial stdio \
    -icount shift=0,sleep=off \
    -device loader,file="$elf" \
    -device loader,file="$tmp/shim.elf",cpu-num=0 \
    < /dev/null > "$tmp/out" 2> "$tmp/err" || status=$?

# The shim's report starts at the first \x02 byte.
cut=$(grep -abo $'\x02' "$tmp/out" | head -n 1 | cut -d: -f1 || true)
if [ -n "$cut" ]; then
    head -c "$cut" "$tmp/out"
    tail -c +"$((cut + 2))" "$tmp/out" >&2
else
    cat "$tmp/out"
fi
grep -v 'module ui-ui-' "$tmp/err" >&2 || true
exit "$status"
