#!/usr/bin/env bash
# bench.sh BUILD — CPU time (user+sys) of the benchmark workloads under
# qemu-alpha and natively on x86-64, plus nullsys and vmbench per-op times.
set -u
BUILD=${1:-build}
QEMU_ALPHA=${QEMU_ALPHA:-qemu-alpha}
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=$(cd "$HERE" && cd "$BUILD" && pwd)
QEMU_PATH=$(command -v "$QEMU_ALPHA") || { echo "bench.sh: $QEMU_ALPHA not found" >&2; exit 2; }
TIMEFORMAT='%U %S'

cpu() { # cpu ARCH PROG ARGS... -> prints "user+sys" seconds
    local arch=$1 prog=$2; shift 2
    local -a cmd=("$BUILD/$arch/$prog" "$@")
    [ "$arch" = alpha ] && cmd=("$QEMU_PATH" "${cmd[@]}")
    local t
    t=$( { time (cd "$BUILD/$arch" && "${cmd[@]}" >/dev/null 2>&1 </dev/null); } 2>&1 | tail -1)
    awk -v u="${t% *}" -v s="${t#* }" 'BEGIN { printf "%.2f", u + s }'
}

printf '%-22s %12s %12s\n' workload qemu-alpha x86-64
for w in "cpubench 10" "sqlite_driver" "lua bench.lua"; do
    read -r -a a <<<"$w"
    [ -x "$BUILD/alpha/${a[0]}" ] || { printf '%-22s %12s\n' "$w" "(not built)"; continue; }
    printf '%-22s %11ss %11ss\n' "$w" "$(cpu alpha "${a[@]}")" "$(cpu x86_64 "${a[@]}")"
done
echo
echo "null syscall (1M):"
(cd "$BUILD/alpha" && "$QEMU_PATH" ./nullsys 1000000 -t 2>&1 >/dev/null | sed 's/^/  qemu-alpha /')
(cd "$BUILD/x86_64" && ./nullsys 1000000 -t 2>&1 >/dev/null | sed 's/^/  x86-64     /')
echo
echo "vmbench -t (POSIX way), qemu-alpha:"
(cd "$BUILD/alpha" && "$QEMU_PATH" ./vmbench -t | sed 's/^/  /')
echo "vmbench -t (POSIX way), x86-64 native:"
(cd "$BUILD/x86_64" && ./vmbench -t | sed 's/^/  /')
