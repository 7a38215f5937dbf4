#!/usr/bin/env bash
# build-guests.sh - build the rv32 guest programs in guests/rv32.
#
# Usage: scripts/build-guests.sh [--out DIR] [--check]
#
#   (no option)  build into guests/rv32/bin and, if qemu-riscv32 is
#                installed, regenerate guests/rv32/expected/*.{txt,status};
#                if qemu-system-riscv32 is, also expected/sbi-*.{txt,end}
#   --out DIR    build into DIR instead; expected/ is left alone
#   --check      build into a temporary directory and compare with the
#                committed ELFs in guests/rv32/bin byte for byte; exits 1
#                listing every ELF that differs or is missing
#
# Outputs: bin/<name>.elf for user/<name>.c (statically linked Linux
# programs), bin/bare-<name>.elf for bare/<name>.S (bare-machine tests),
# bin/sbi-<name>.elf for sbi/sbi-<name>.c (S-mode guests of the hypervisor,
# which talk to it through the SBI), and for each kernel workload <w> (cpu,
# syscall, timer, io and the nanobenchmarks nnull, nsyscall, ntimer, nmask,
# ncsr) bin/kernel-<w>.elf and bin/kernel-pv-<w>.elf (the
# S-mode kernel in kernel/, unmodified and paravirtualized) and
# bin/native-kernel-<w>.elf (the unmodified kernel behind the M-mode
# firmware in firmware/, for the bare machine; the paravirtual kernel only
# runs under the hypervisor).  The 2-hart
# build (-DSMP, kernel/smp*.{c,h,S}): bin/kernel-smp.elf, kernel-pv-smp.elf
# and native-kernel-smp.elf (2 harts, firmware with HSM and IPIs).
# expected/native-kernel-<w>.txt (their console output) is not generated
# here: it is checked by hand (see guests/rv32/README.md).
#
# The build is reproducible: no debug info, no build-id, relative paths
# (plus -ffile-prefix-map), fixed input order, C locale.  Rebuilding with
# the same toolchain gives byte-identical ELFs.
#
# Exit status: 0 ok, 1 --check found differences (or a build error),
# 2 compiler not installed.
set -euo pipefail
export LC_ALL=C

CC=riscv64-unknown-elf-gcc
QEMU=qemu-riscv32
QEMU_SYSTEM=qemu-system-riscv32    # only for expected/sbi-* (sbi/qemu/run.sh)

out=""
check=0
while [ $# -gt 0 ]; do
    case "$1" in
        --out)
            [ $# -ge 2 ] || { echo "build-guests: --out needs a directory" >&2; exit 1; }
            out="$2"
            shift 2
            ;;
        --out=*)
            out="${1#--out=}"
            shift
            ;;
        --check)
            check=1
            shift
            ;;
        -h|--help)
            # Print the header comment (up to the first non-comment line).
            awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "${BASH_SOURCE[0]}"
            exit 0
            ;;
        *)
            echo "build-guests: unknown argument: $1" >&2
            exit 1
            ;;
    esac
done

if ! command -v "$CC" >/dev/null 2>&1; then
    echo "build-guests: riscv64-unknown-elf-gcc not found; install it with: apt-get install -y gcc-riscv64-unknown-elf" >&2
    exit 2
fi

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
GUESTS=guests/rv32               # relative to ROOT; we build from ROOT

# Resolve --out relative to the caller's directory before we cd.
if [ -n "$out" ]; then
    mkdir -p "$out"
    out="$(cd "$out" && pwd)"
fi
cd "$ROOT"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/build-guests.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

if [ "$check" = 1 ]; then
    dest="$tmp/bin"
elif [ -n "$out" ]; then
    dest="$out"
else
    dest="$GUESTS/bin"
fi
mkdir -p "$dest" "$tmp/obj/common" "$tmp/obj/user" "$tmp/obj/bare" \
    "$tmp/obj/sbi-common" "$tmp/obj/sbi"

ARCH=(-march=rv32ima_zicsr -mabi=ilp32)
COMMON_FLAGS=(
    "${ARCH[@]}" -O2 -g0 -static -nostdlib -ffreestanding -fno-builtin
    # Keep GCC from turning libc's own loops into memset/memcpy calls.
    -fno-tree-loop-distribute-patterns
    -fno-asynchronous-unwind-tables -fno-unwind-tables
    "-ffile-prefix-map=$ROOT/="
    -Wall -Wextra -Werror
)
LDFLAGS=(-Wl,--build-id=none)

# There is no rv32ima multilib with _zicsr in its name, so GCC would pick the
# default (rv64) libgcc; ask explicitly for the rv32im/ilp32 one (plain
# RV32IM code, no compressed instructions).
LIBGCC="$("$CC" -march=rv32im -mabi=ilp32 -print-libgcc-file-name)"

run() {
    # Run a build step; on failure name the step and stop.
    "$@" || { echo "build-guests: command failed: $*" >&2; exit 1; }
}

# ---------------------------------------------------------- user programs
USER_CFLAGS=("${COMMON_FLAGS[@]}" -I "$GUESTS/common")
runtime_objs=()
for src in "$GUESTS/common/crt0.S" $(ls "$GUESTS"/common/*.c | sort); do
    # Object names end up in the ELF's symbol table (assembler sources get
    # their object's name as STT_FILE), so they must not be random.
    obj="$tmp/obj/common/$(basename "${src%.*}").o"
    run "$CC" "${USER_CFLAGS[@]}" -c "$src" -o "$obj"
    runtime_objs+=("$obj")
done

user_names=()
for src in $(ls "$GUESTS"/user/*.c | sort); do
    name="$(basename "$src" .c)"
    obj="$tmp/obj/user/$name.o"
    run "$CC" "${USER_CFLAGS[@]}" -c "$src" -o "$obj"
    run "$CC" "${USER_CFLAGS[@]}" "${LDFLAGS[@]}" -o "$dest/$name.elf" \
        "${runtime_objs[@]}" "$obj" "$LIBGCC"
    user_names+=("$name")
done

# ------------------------------------------------------------- bare tests
BARE_FLAGS=(
    "${ARCH[@]}" -g0 -static -nostdlib -nostartfiles -mno-relax
    -Wl,--no-warn-rwx-segments
    -T "$GUESTS/bare/link.ld" -I "$GUESTS/bare" "-ffile-prefix-map=$ROOT/="
)
for src in $(ls "$GUESTS"/bare/*.S | sort); do
    name="$(basename "$src" .S)"
    obj="$tmp/obj/bare/$name.o"
    run "$CC" "${BARE_FLAGS[@]}" -c "$src" -o "$obj"
    run "$CC" "${BARE_FLAGS[@]}" "${LDFLAGS[@]}" -o "$dest/bare-$name.elf" "$obj"
done

# ---------------------------------------------- SBI (paravirtual) guests
# S-mode programs linked at 0x80000000 (sbi/link.ld) with their own crt0 and
# SBI runtime, plus the unchanged libc.c of the user programs (sbi.c provides
# the sys_write/sys_brk/sys_exit it needs, over SBI).
SBI_CFLAGS=("${COMMON_FLAGS[@]}" -I "$GUESTS/sbi/common" -I "$GUESTS/common")
SBI_LDFLAGS=(-T "$GUESTS/sbi/link.ld" -Wl,--no-warn-rwx-segments)
sbi_runtime_objs=()
for src in "$GUESTS/sbi/common/crt0.S" "$GUESTS/sbi/common/sbi.c" "$GUESTS/common/libc.c"; do
    obj="$tmp/obj/sbi-common/$(basename "${src%.*}").o"
    run "$CC" "${SBI_CFLAGS[@]}" -c "$src" -o "$obj"
    sbi_runtime_objs+=("$obj")
done
for src in $(ls "$GUESTS"/sbi/sbi-*.c | sort); do
    name="$(basename "$src" .c)"           # already starts with sbi-
    obj="$tmp/obj/sbi/$name.o"
    run "$CC" "${SBI_CFLAGS[@]}" -c "$src" -o "$obj"
    run "$CC" "${SBI_CFLAGS[@]}" "${SBI_LDFLAGS[@]}" "${LDFLAGS[@]}" \
        -o "$dest/$name.elf" "${sbi_runtime_objs[@]}" "$obj" "$LIBGCC"
done

# ------------------------------------------- kernel + native firmware
# One S-mode kernel (kernel/) built per workload (-DWORKLOAD_<W>) and in two
# variants: unmodified (privileged operations inline) and paravirtualized
# (-DPARAVIRT: deprivileged, hypercalls instead of privileged operations).
# kernel[-pv]-<w>.elf is the kernel alone at 0x80200000 (kernel/link.ld);
# native-kernel-<w>.elf adds the M-mode firmware (firmware/, objects
# named fw-*.o) at 0x80000000 in the same ELF (firmware/link.ld), for the
# bare machine.
# n*: the nanobenchmarks (workloads.c), nnull their empty-loop baseline.
KERNEL_WORKLOADS=(cpu syscall timer io nnull nsyscall ntimer nmask ncsr)
KERNEL_CFLAGS=("${COMMON_FLAGS[@]}" -I "$GUESTS/kernel")
FW_CFLAGS=("${COMMON_FLAGS[@]}" -mno-relax)    # never gp-relative: gp is the kernel's
mkdir -p "$tmp/obj/firmware"
fw_objs=()
for src in "$GUESTS/firmware/fw-entry.S" "$GUESTS/firmware/fw-sbi.c"; do
    obj="$tmp/obj/firmware/$(basename "${src%.*}").o"
    run "$CC" "${FW_CFLAGS[@]}" -c "$src" -o "$obj"
    fw_objs+=("$obj")
done
for variant in native pv; do
    vflags=()
    prefix=kernel
    if [ "$variant" = pv ]; then
        vflags=(-DPARAVIRT)
        prefix=kernel-pv
    fi
    vdir="$tmp/obj/kernel-$variant"
    mkdir -p "$vdir"
    kernel_objs=()
    for src in "$GUESTS/kernel/entry.S" "$GUESTS/kernel/kernel.c" "$GUESTS/kernel/hv.c" "$GUESTS/kernel/fmt.c"; do
        obj="$vdir/k-$(basename "${src%.*}").o"
        run "$CC" "${KERNEL_CFLAGS[@]}" "${vflags[@]}" -c "$src" -o "$obj"
        kernel_objs+=("$obj")
    done
    for w in "${KERNEL_WORKLOADS[@]}"; do
        mkdir -p "$vdir/$w"
        obj="$vdir/$w/k-workload.o"
        run "$CC" "${KERNEL_CFLAGS[@]}" "${vflags[@]}" "-DWORKLOAD_$(echo "$w" | tr a-z A-Z)" \
            -c "$GUESTS/kernel/workloads.c" -o "$obj"
        run "$CC" "${KERNEL_CFLAGS[@]}" -T "$GUESTS/kernel/link.ld" -Wl,--no-warn-rwx-segments "${LDFLAGS[@]}" \
            -o "$dest/$prefix-$w.elf" "${kernel_objs[@]}" "$obj" "$LIBGCC"
        # The paravirtual kernel runs deprivileged and calls the hypervisor by hypercall (hv.h):
        # like a Xen PV kernel it cannot boot on the bare machine, so it has no native image.
        [ "$variant" = pv ] && continue
        run "$CC" "${KERNEL_CFLAGS[@]}" -T "$GUESTS/firmware/link.ld" -Wl,--no-warn-rwx-segments "${LDFLAGS[@]}" \
            -o "$dest/native-$prefix-$w.elf" "${fw_objs[@]}" "${kernel_objs[@]}" "$obj" "$LIBGCC"
    done
    # The 2-hart build (-DSMP): kernel.c with its SMP hook, smp.c (SMP phase and the
    # workload, instead of workloads.c) and smp-entry.S (secondary entry, IPI vector).
    sdir="$vdir/smp"
    mkdir -p "$sdir"
    smp_objs=()
    for src in "$GUESTS/kernel/entry.S" "$GUESTS/kernel/kernel.c" "$GUESTS/kernel/hv.c" "$GUESTS/kernel/fmt.c" \
        "$GUESTS/kernel/smp-entry.S" "$GUESTS/kernel/smp.c"; do
        obj="$sdir/k-$(basename "${src%.*}").o"
        run "$CC" "${KERNEL_CFLAGS[@]}" "${vflags[@]}" -DSMP -c "$src" -o "$obj"
        smp_objs+=("$obj")
    done
    run "$CC" "${KERNEL_CFLAGS[@]}" -T "$GUESTS/kernel/link.ld" -Wl,--no-warn-rwx-segments "${LDFLAGS[@]}" \
        -o "$dest/$prefix-smp.elf" "${smp_objs[@]}" "$LIBGCC"
    # Natively only the unmodified kernel (the paravirtual one needs its hypervisor).
    [ "$variant" = pv ] || run "$CC" "${KERNEL_CFLAGS[@]}" -T "$GUESTS/firmware/link.ld" -Wl,--no-warn-rwx-segments \
        "${LDFLAGS[@]}" -o "$dest/native-$prefix-smp.elf" "${fw_objs[@]}" "${smp_objs[@]}" "$LIBGCC"
done

# --------------------------------------------------------------- --check
if [ "$check" = 1 ]; then
    bad=()
    for f in $(cd "$dest" && ls | sort); do
        if ! cmp -s "$dest/$f" "$GUESTS/bin/$f"; then
            bad+=("$f")
        fi
    done
    # Committed ELFs that the sources no longer produce are stale too.
    for f in $(cd "$GUESTS/bin" && ls *.elf 2>/dev/null | sort); do
        [ -e "$dest/$f" ] || bad+=("$f (no longer built)")
    done
    if [ ${#bad[@]} -gt 0 ]; then
        echo "build-guests: these ELFs in $GUESTS/bin are out of date (run scripts/build-guests.sh):" >&2
        printf '  %s\n' "${bad[@]}" >&2
        exit 1
    fi
    echo "build-guests: all $(ls "$dest" | wc -l) ELFs in $GUESTS/bin are up to date"
    exit 0
fi

echo "build-guests: built $(ls "$dest"/*.elf | wc -l) ELFs into ${out:-$GUESTS/bin}"

# ------------------------------------------------------ expected outputs
# Only when building the committed ELFs.  expected/<name>.args holds argv[1..]
# one per line; argv[0] is always "<name>" (qemu's -0 option).
[ -z "$out" ] || exit 0
exp="$GUESTS/expected"
mkdir -p "$exp"
if command -v "$QEMU" >/dev/null 2>&1; then
    for name in "${user_names[@]}"; do
        [ "$name" = fault ] && continue       # dies with SIGILL by design
        args=()
        if [ -f "$exp/$name.args" ]; then
            mapfile -t args < "$exp/$name.args"
        else
            : > "$exp/$name.args"
        fi
        status=0
        "$QEMU" -0 "$name" "$dest/$name.elf" "${args[@]}" > "$exp/$name.txt" || status=$?
        echo "$status" > "$exp/$name.status"
    done
    echo "build-guests: regenerated $exp with $QEMU"
else
    echo "build-guests: $QEMU not found; expected/ outputs of user programs not regenerated" >&2
fi

# SBI guests: run under qemu-system-riscv32 with the M-mode SBI shim
# (sbi/qemu/run.sh).  expected/sbi-<name>.txt is the guest's console output,
# expected/sbi-<name>.end how the VM ended: the shim's report without the
# instruction count ("shutdown reason=0", "legacy shutdown",
# "exception mcause=7 mepc=0x... mtval=0x...").
if command -v "$QEMU_SYSTEM" >/dev/null 2>&1; then
    for src in $(ls "$GUESTS"/sbi/sbi-*.c | sort); do
        name="$(basename "$src" .c)"
        status=0
        "$GUESTS/sbi/qemu/run.sh" "$dest/$name.elf" > "$exp/$name.txt" 2> "$tmp/report" || status=$?
        case "$status" in
            0|1|3) ;;
            *) echo "build-guests: $name under $QEMU_SYSTEM: exit status $status" >&2
               cat "$tmp/report" >&2
               exit 1 ;;
        esac
        sed -n 's/^shim: \(.*\) instret=.*/\1/p' "$tmp/report" | head -n 1 > "$exp/$name.end"
    done
    echo "build-guests: regenerated $exp/sbi-* with $QEMU_SYSTEM"
else
    echo "build-guests: $QEMU_SYSTEM not found; expected/sbi-* not regenerated" >&2
fi
