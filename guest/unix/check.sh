#!/usr/bin/env bash
# check.sh BUILD RUNS GROUP — run the cases of cases.txt in GROUP (core or
# third-party): each Alpha binary under qemu-alpha and each x86-64 binary
# natively, RUNS times each.  Requires, per case: the expected exit status on
# both; byte-identical stdout+stderr+status across runs (determinism); and,
# unless the case is flagged `arch`, identical stdout and stderr between
# Alpha and x86-64.  Outputs are kept in BUILD/check/.  SLOW=1 includes the
# benchmark-size cases.
set -u
BUILD=${1:-build}
RUNS=${2:-3}
GROUP=${3:-core}
QEMU_ALPHA=${QEMU_ALPHA:-qemu-alpha}
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=$(cd "$HERE" && mkdir -p "$BUILD" && cd "$BUILD" && pwd)
OUT=$BUILD/check
mkdir -p "$OUT"
QEMU_PATH=$(command -v "$QEMU_ALPHA") || { echo "check.sh: $QEMU_ALPHA not found" >&2; exit 2; }

trim() { local s=$1; s=${s#"${s%%[![:space:]]*}"}; s=${s%"${s##*[![:space:]]}"}; printf '%s' "$s"; }

# run ARCH NAME RUN STDIN ENV ARGV... — writes $OUT/NAME.ARCH.RUN.{out,err,status}
run() {
    local arch=$1 name=$2 r=$3 stdin=$4 envs=$5; shift 5
    local dir=$BUILD/$arch prog=$1; shift
    local base=$OUT/$name.$arch.$r
    local in=/dev/null
    [ "$stdin" != "-" ] && in=$dir/$stdin
    local -a envv=(env -u SPIN_TEST -u GUEST_EXEC_WRAPPER)
    [ "$envs" != "-" ] && for e in $envs; do envv+=("$e"); done
    local -a cmd
    if [ "$arch" = alpha ]; then
        envv+=("GUEST_EXEC_WRAPPER=$QEMU_PATH")
        cmd=("$QEMU_PATH" "$dir/$prog" "$@")
    else
        cmd=("$dir/$prog" "$@")
    fi
    # (the outer redirection silences bash's own "Segmentation fault" notices)
    { (cd "$dir" && ulimit -c 0 && exec "${envv[@]}" "${cmd[@]}" <"$in" >"$base.out" 2>"$base.err"); } 2>/dev/null
    echo $? >"$base.status"
}

fails=0
cases=0
while IFS= read -r line; do
    case $line in ''|'#'*) continue ;; esac
    IFS='|' read -r name want flags stdin envs argv <<<"$line"
    name=$(trim "$name"); want=$(trim "$want"); flags=$(trim "$flags")
    stdin=$(trim "$stdin"); envs=$(trim "$envs"); argv=$(trim "$argv")
    [[ ",$flags," == *",$GROUP,"* ]] || continue
    if [[ ",$flags," == *",slow,"* ]] && [ "${SLOW:-0}" != 1 ]; then continue; fi
    cases=$((cases + 1))
    read -r -a args <<<"$argv"
    bad=""
    for arch in alpha x86_64; do
        if [ ! -x "$BUILD/$arch/${args[0]}" ]; then bad+=" $arch:missing-binary"; continue; fi
        for ((r = 1; r <= RUNS; r++)); do
            run "$arch" "$name" "$r" "$stdin" "$envs" "${args[@]}"
            st=$(cat "$OUT/$name.$arch.$r.status")
            [ "$st" = "$want" ] || bad+=" $arch-run$r:exit=$st(want $want)"
            if [ "$r" -gt 1 ]; then
                for f in out err status; do
                    cmp -s "$OUT/$name.$arch.1.$f" "$OUT/$name.$arch.$r.$f" ||
                        bad+=" $arch:nondeterministic-$f(run$r)"
                done
            fi
        done
        grep -q '^FAIL' "$OUT/$name.$arch.1.out" "$OUT/$name.$arch.1.err" 2>/dev/null &&
            bad+=" $arch:FAIL-lines"
    done
    if [[ ",$flags," != *",arch,"* ]] && [ -z "$bad" ]; then
        for f in out err; do
            cmp -s "$OUT/$name.alpha.1.$f" "$OUT/$name.x86_64.1.$f" || {
                bad+=" alpha-vs-x86_64:$f"
                diff "$OUT/$name.x86_64.1.$f" "$OUT/$name.alpha.1.$f" | head -20 | sed 's/^/    /'
            }
        done
    fi
    if [ -n "$bad" ]; then
        echo "FAIL $name:$bad"
        fails=$((fails + 1))
    else
        echo "ok   $name ($(wc -l <"$OUT/$name.alpha.1.out") lines, exit $want, x$RUNS each)"
    fi
done <"$HERE/cases.txt"

echo "check.sh: $GROUP: $((cases - fails))/$cases cases ok"
[ "$fails" -eq 0 ]
