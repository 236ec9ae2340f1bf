#!/usr/bin/env bash
# reference.sh - Rampart through the shared reference harness (../shared/bench/peer-bench.sh, the
# same DCMTK + curl clients and seeded corpus the Orthanc baseline was measured with), and, in the
# same run, Orthanc (../shared/bench/orthanc/run-orthanc-bench.sh) and DCMTK's storescp, which
# only writes files. Loopback only. Prints each server's medians side by side.
#
#   bench/reference.sh [--phases store] [--runs 1] [--servers rampart,orthanc,storescp]
#                      [--corpus /tmp/dicom-corpus/small] [--out DIR] [-- <peer-bench options>]
#
# Rampart starts empty in a temp data dir with the peers the harness expects (BENCHSCU may do
# everything, BENCHSCP at 127.0.0.1:11113 takes C-MOVE results), on DIMSE port 4242 and HTTP 8042,
# with the per-principal rate limits off (they are on by default). storescp runs as
# `storescp --fork +xa -od DIR` with TCP_NODELAY=1 and gets the store phase only. Servers
# alternate order between runs; `sync` runs before each.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$HERE")
SHARED=${SHARED_BENCH:-$(cd "$REPO/../shared/bench" 2>/dev/null && pwd)}
PHASES=store RUNS=1 SERVERS=rampart,orthanc,storescp CORPUS=/tmp/dicom-corpus/small
OUT=/tmp/rampart-reference/$(date -u +%Y%m%dT%H%M%S) EXTRA=()
while [ $# -gt 0 ]; do
  case "$1" in
    --phases) PHASES=$2; shift ;; --runs) RUNS=$2; shift ;; --servers) SERVERS=$2; shift ;;
    --corpus) CORPUS=$2; shift ;; --out) OUT=$2; shift ;;
    --) shift; EXTRA=("$@"); break ;;
    -h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac; shift
done
[ -x "$SHARED/peer-bench.sh" ] || { echo "no reference harness at $SHARED (set SHARED_BENCH)" >&2; exit 2; }
[ -d "$CORPUS" ] || "$SHARED/make-corpora.sh" small
mkdir -p "$OUT"
export TCP_NODELAY=1
[ -f "$REPO/dist/cli/main.js" ] || (cd "$REPO" && npm run build >/dev/null)

run_rampart() { # LABEL
  local data; data=$(mktemp -d /tmp/rampart-ref.XXXXXX)
  node "$REPO/bin/rampart.js" peer add BENCHSCU --host 127.0.0.1 --port 11112 --allow echo,store,find,move,get --data "$data" >/dev/null
  node "$REPO/bin/rampart.js" peer add BENCHSCP --host 127.0.0.1 --port 11113 --allow store --data "$data" >/dev/null
  RAMPART_RATE_LIMIT_QUERY_PER_MINUTE=0 RAMPART_RATE_LIMIT_RETRIEVE_PER_MINUTE=0 RAMPART_RATE_LIMIT_RETRIEVE_BYTES_PER_HOUR=0 \
    node "$REPO/bin/rampart.js" serve --data "$data" --host 127.0.0.1 --dicom-port 4242 --dicom-tls-port off --http-port 8042 \
    > "$OUT/$1-server.log" 2>&1 &
  local pid=$!
  for _ in $(seq 100); do curl -sf -o /dev/null http://127.0.0.1:8042/healthz && break; sleep 0.2; done
  local token
  token=$(node "$REPO/bin/rampart.js" token create --user admin --scope read --scope write --scope admin --ttl 8h --data "$data" 2>/dev/null | tail -1)
  sync
  "$SHARED/peer-bench.sh" --port 4242 --aec RAMPART --dicomweb http://127.0.0.1:8042/dicom-web --http-bearer "$token" \
    --corpus "$CORPUS" --phases "$PHASES" --server-pid "$pid" --storage-dir "$data/blobs" --label "$1" --out "$OUT/$1" "${EXTRA[@]}" \
    > "$OUT/$1.log" 2>&1
  kill -TERM "$pid"; wait "$pid" 2>/dev/null
  rm -rf "$data"
}

run_orthanc() { # LABEL
  sync
  BENCH_OUT="$OUT" "$SHARED/orthanc/run-orthanc-bench.sh" --label "$1" --nodelay 1 --corpus "$CORPUS" -- --phases "$PHASES" "${EXTRA[@]}" \
    > "$OUT/$1.log" 2>&1
}

run_storescp() { # LABEL: the store phase into a server that only writes files
  local dir; dir=$(mktemp -d /tmp/storescp-ref.XXXXXX)
  storescp --fork +xa -od "$dir" --aetitle STORESCP 4243 > "$OUT/$1-server.log" 2>&1 &
  local pid=$!
  sleep 0.5
  sync
  "$SHARED/peer-bench.sh" --port 4243 --aec STORESCP --dicomweb '' --corpus "$CORPUS" --phases store --label "$1" --out "$OUT/$1" \
    > "$OUT/$1.log" 2>&1
  kill "$pid"; wait "$pid" 2>/dev/null
  rm -rf "$dir"
}

IFS=, read -r -a names <<< "$SERVERS"
for r in $(seq "$RUNS"); do
  order=("${names[@]}")
  if [ $((r % 2)) = 0 ]; then order=(); for ((i=${#names[@]}-1; i>=0; i--)); do order+=("${names[$i]}"); done; fi
  for n in "${order[@]}"; do
    echo "[$(date -u +%H:%M:%S)] run $r: $n (load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
    "run_$n" "$n-r$r"
  done
done

# One table: median of each metric per server (median over runs when --runs > 1).
/usr/bin/python3 - "$OUT" "$SERVERS" "$RUNS" <<'EOF'
import csv, os, statistics, sys
out, servers, runs = sys.argv[1], sys.argv[2].split(','), int(sys.argv[3])
vals = {}
for s in servers:
    for r in range(1, runs + 1):
        f = os.path.join(out, f'{s}-r{r}', 'results.tsv')
        if not os.path.exists(f): continue
        for row in csv.DictReader(open(f), delimiter='\t'):
            try: v = float(row['median'])
            except (KeyError, ValueError): continue
            vals.setdefault((row['phase'], row['metric'], row.get('unit', '')), {}).setdefault(s, []).append(v)
print(f"\n| phase | metric | unit | " + " | ".join(servers) + (" | rampart/orthanc | rampart/storescp |" if 'rampart' in servers else " |"))
print("|---|---|---|" + "---:|" * len(servers) + ("---:|---:|" if 'rampart' in servers else ""))
for (ph, m, u), by in vals.items():
    med = {s: statistics.median(v) for s, v in by.items()}
    cells = [f"{med[s]:.4g}" if s in med else "-" for s in servers]
    ratio = lambda o: f"{med['rampart'] / med[o]:.2f}" if 'rampart' in med and o in med and med[o] else "-"
    extra = [ratio('orthanc'), ratio('storescp')] if 'rampart' in servers else []
    print(f"| {ph} | {m} | {u} | " + " | ".join(cells + extra) + " |")
print(f"\n(per-run files in {out}; for latency metrics (ms) a ratio below 1 is better for Rampart)")
EOF
