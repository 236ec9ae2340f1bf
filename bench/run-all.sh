#!/usr/bin/env bash
# run-all.sh - build Rampart, generate the corpora (once) and run the benchmarks (stow, the
# durable-write probe, wado, qido, dimse),
# writing what they print to bench/results/<date>.md. Loopback only; see bench/README.md.
#
#   bench/run-all.sh [--qido-orthanc] [--cpu-prof] [--quick] [--quiet-wait SECONDS]
#   --qido-orthanc  also load the 100k index into Orthanc and time its QIDO (adds minutes)
#   --cpu-prof      run the STOW benchmark's Rampart under node --cpu-prof (top functions printed)
#   --quick         small corpora and counts (a smoke test, not a measurement)
#   --quiet-wait S  wait up to S seconds (default 180) for the 1-min load average to fall under 1.5
# Environment: RAMPART_BENCH_DIR (default /tmp/rampart-bench) holds corpora and temp servers.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$HERE")
WORK=${RAMPART_BENCH_DIR:-/tmp/rampart-bench}
export RAMPART_BENCH_DIR=$WORK
PY=/usr/bin/python3
QIDO_ORTHANC=0 CPU_PROF=0 QUICK=0 QUIET_WAIT=180
while [ $# -gt 0 ]; do
  case "$1" in
    --qido-orthanc) QIDO_ORTHANC=1 ;; --cpu-prof) CPU_PROF=1 ;; --quick) QUICK=1 ;;
    --quiet-wait) QUIET_WAIT=$2; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac; shift
done
cd "$REPO" || exit 1
mkdir -p "$WORK" "$HERE/results"

echo "== build" >&2
BUILD="ok"
if ! npm run build >"$WORK/build.log" 2>&1; then
  BUILD="npm run build reported errors (tsc still emitted dist/): $(grep -c 'error TS' "$WORK/build.log") TypeScript error(s)"
  echo "WARNING: $BUILD; see $WORK/build.log" >&2
  [ -f dist/cli/main.js ] || { echo "no dist/cli/main.js: cannot run" >&2; exit 1; }
fi

if [ "$QUICK" = 1 ]; then
  CT=$WORK/ct-quick IDX=$WORK/index-quick CT_ARGS=(--count 200 --seed 7001) IDX_ARGS=(--count 5000 --seed 7002)
  STOW_OPTS=(--big-mb 64) WADO_OPTS=(--rounds 3 --n 10) QIDO_OPTS=(--n 10 --warmup 2)
  DIMSE_OPTS=(--find-n 5 --move-n 2 --echo-rounds 2 --echo-repeat 200 --cpu-prof off)
else
  CT=$WORK/ct IDX=$WORK/index CT_ARGS=(--count 600 --seed 7001) IDX_ARGS=(--count 100000 --seed 7002)
  STOW_OPTS=(--big-mb 512) WADO_OPTS=(--rounds 10 --n 50) QIDO_OPTS=(--n 50 --warmup 5)
  DIMSE_OPTS=(--find-n 30 --move-n 10 --echo-rounds 5 --cpu-prof auto)
fi
[ "$CPU_PROF" = 1 ] && STOW_OPTS+=(--cpu-prof)
[ "$QIDO_ORTHANC" = 1 ] && QIDO_OPTS+=(--orthanc)
for c in "ct:$CT" "index:$IDX"; do
  prof=${c%%:*} dir=${c#*:}
  if [ ! -f "$dir/manifest.json" ]; then
    echo "== generating $dir" >&2
    rm -rf "$dir"
    if [ "$prof" = ct ]; then args=("${CT_ARGS[@]}"); else args=("${IDX_ARGS[@]}"); fi
    $PY "$HERE/gen-corpus.py" --profile "$prof" "${args[@]}" --out "$dir" || exit 1
  fi
done

quiet() { # bounded wait for a quieter machine; the load average is printed in every result
  local t=0
  while [ "$t" -lt "$QUIET_WAIT" ]; do
    awk '{exit !($1 < 1.5)}' /proc/loadavg && return 0
    sleep 5; t=$((t + 5))
  done
  echo "WARNING: load average still $(cut -d' ' -f1 /proc/loadavg) after ${QUIET_WAIT}s; measuring anyway" >&2
}

OUT=$HERE/results/$(date +%F).md
[ -e "$OUT" ] && OUT=$HERE/results/$(date +%F-%H%M).md
{
  echo "# Rampart benchmark run $(date -u +%FT%TZ)"
  echo
  echo "- command: \`bench/run-all.sh $*\`"
  echo "- Rampart: $(git -C "$REPO" log -1 --format='%h %s' | cut -c1-100); build: $BUILD"
  echo "- Orthanc: $(dpkg-query -W -f='${Version}' orthanc 2>/dev/null), orthanc-dicomweb $(dpkg-query -W -f='${Version}' orthanc-dicomweb 2>/dev/null)"
  echo "- corpora: $CT ($(du -sm "$CT" | cut -f1) MB), $IDX ($(du -sm "$IDX" | cut -f1) MB)"
  echo
} > "$OUT"
rc=0
for step in stow probe wado qido dimse; do
  quiet
  echo "== $step" >&2
  case $step in
    stow) opts=(--corpus "$CT" "${STOW_OPTS[@]}") ;;
    probe) step=fsync-probe opts=() ;;
    wado) opts=(--corpus "$CT" "${WADO_OPTS[@]}") ;;
    qido) opts=(--corpus "$IDX" "${QIDO_OPTS[@]}") ;;
    dimse) opts=(--corpus "$CT" "${DIMSE_OPTS[@]}") ;;
  esac
  echo "\`node bench/$step.mjs ${opts[*]}\`" >> "$OUT"
  echo >> "$OUT"
  timeout 3600 node "$HERE/$step.mjs" "${opts[@]}" >> "$OUT" 2> >(tee -a "$WORK/run-all.log" >&2)
  code=$?
  if [ "$code" != 0 ]; then rc=1; echo "**$step failed (exit $code)**" >> "$OUT"; fi
  echo >> "$OUT"
done
echo "results: $OUT" >&2
exit $rc
