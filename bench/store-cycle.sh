#!/usr/bin/env bash
# store-cycle.sh - where one C-STORE's time goes, per kind of object, on one association: the
# milliseconds per instance of Rampart and of DCMTK's storescp (which only writes files), beside
# what one durable write (write, rename, fsync of the file and of its folder, Rampart's shape)
# costs on this disk for an object of that size. Loopback only.
#
#   bench/store-cycle.sh [--runs 3] [--corpus /tmp/dicom-corpus/small]
#
# Each run starts both servers fresh, warms them with partition 9, then sends each modality of
# partitions 1-3 and of partitions 4-6 on one association each (storescu +sd +r, TCP_NODELAY=1).
# The storescu process start and the association (tens of ms on this VM) are included and
# spread over the 9 (CR), 138-144 (MR) or 207 (CT) instances of a set. Prints medians over runs.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$HERE")
RUNS=3 CORPUS=/tmp/dicom-corpus/small
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) RUNS=$2; shift ;; --corpus) CORPUS=$2; shift ;;
    -h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac; shift
done
[ -f "$CORPUS/manifest.tsv" ] || { echo "no corpus at $CORPUS (../shared/bench/make-corpora.sh small)" >&2; exit 2; }
[ -f "$REPO/dist/cli/main.js" ] || (cd "$REPO" && npm run build >/dev/null)
export TCP_NODELAY=1
WORK=$(mktemp -d /tmp/rampart-cycle.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$WORK"' EXIT

# Study folders per modality and set, from the corpus manifest.
for m in CR CT MR; do
  awk -F'\t' -v m="$m" '$9 == m && ($1 == "part-01" || $1 == "part-02" || $1 == "part-03") { print $14 }' "$CORPUS/manifest.tsv" > "$WORK/$m-A"
  awk -F'\t' -v m="$m" '$9 == m && ($1 == "part-04" || $1 == "part-05" || $1 == "part-06") { print $14 }' "$CORPUS/manifest.tsv" > "$WORK/$m-B"
done

send() { # AEC PORT DIRS-FILE -> "instances microseconds"
  local n s e
  n=$(find $(cat "$3") -type f | wc -l)
  s=$(date +%s%N)
  storescu -aet BENCHSCU -aec "$1" +sd +r 127.0.0.1 "$2" $(cat "$3") >/dev/null 2>&1 || echo "storescu to $1 failed" >&2
  e=$(date +%s%N)
  echo "$n $(( (e - s) / 1000 ))"
}

one_server() { # rampart|storescp RUN
  local aec port pid data
  if [ "$1" = rampart ]; then
    data="$WORK/data-$2"
    node "$REPO/bin/rampart.js" peer add BENCHSCU --host 127.0.0.1 --port 11112 --allow echo,store --data "$data" >/dev/null
    node "$REPO/bin/rampart.js" serve --data "$data" --host 127.0.0.1 --dicom-port 4242 --dicom-tls-port off --http-port 8042 >"$WORK/server.log" 2>&1 &
    pid=$! aec=RAMPART port=4242
  else
    data="$WORK/scp-$2"; mkdir -p "$data"
    storescp --fork +xa -aet STORESCP -od "$data" 11199 >/dev/null 2>&1 &
    pid=$! aec=STORESCP port=11199
  fi
  for _ in $(seq 100); do echoscu -aet BENCHSCU -aec "$aec" 127.0.0.1 "$port" >/dev/null 2>&1 && break; sleep 0.2; done
  sync
  storescu -aet BENCHSCU -aec "$aec" +sd +r 127.0.0.1 "$port" "$CORPUS/part-09" >/dev/null 2>&1
  for m in CR CT MR; do
    for set in A B; do read -r n us < <(send "$aec" "$port" "$WORK/$m-$set"); echo "$1 $m $n $us" >> "$WORK/raw"; done
  done
  kill -TERM "$pid"; wait "$pid" 2>/dev/null
  rm -rf "$data"
}

for r in $(seq "$RUNS"); do
  # Alternate which server goes first.
  if [ $((r % 2)) = 1 ]; then one_server rampart "$r"; one_server storescp "$r"; else one_server storescp "$r"; one_server rampart "$r"; fi
done

# The durable-write floor: the same steps Rampart takes for one blob, one at a time, on this disk.
node --input-type=module - "$WORK" "$CORPUS" > "$WORK/floor" <<'EOF'
import { open, rename, mkdir, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
const [dir, corpus] = process.argv.slice(2);
const sizeOf = async (m) => { // a typical object of that modality in the corpus
  const manifest = (await import('node:fs')).readFileSync(join(corpus, 'manifest.tsv'), 'utf8').split('\n').slice(1).map((l) => l.split('\t'));
  const row = manifest.find((r) => r[8] === m);
  return Math.round(Number(row[12]) / Number(row[11]));
};
await mkdir(join(dir, 'stage'), { recursive: true }); await mkdir(join(dir, 'final'), { recursive: true });
const folder = await open(join(dir, 'final'), 'r');
for (const m of ['CR', 'CT', 'MR']) {
  const size = await sizeOf(m);
  const data = Buffer.alloc(size, 7);
  const n = m === 'CR' ? 15 : 60;
  const t = [];
  for (let i = 0; i < n; i++) {
    const p = join(dir, 'stage', `${m}${i}`);
    const fh = await open(p, 'wx');
    await fh.write(data, 0, size, 0);
    const t0 = performance.now();
    const s = fh.sync();
    await rename(p, join(dir, 'final', `${m}${i}`));
    await Promise.all([s, folder.sync()]);
    t.push(performance.now() - t0);
    await fh.close();
  }
  t.sort((a, b) => a - b);
  console.log(`${m} ${size} ${t[t.length >> 1].toFixed(2)}`);
}
await folder.close();
EOF

echo "C-STORE on one association, ms per instance (median of $RUNS runs; storescu start and association included)"
echo
printf '| %-8s | %10s | %13s | %15s | %13s | %24s |\n' modality "object MB" "storescp ms" "Rampart ms" "Rampart/storescp" "durable write ms (floor)"
printf '|%s|%s|%s|%s|%s|%s|\n' ---------- -----------: --------------: -----------------: ---------------: --------------------------:
for m in CR CT MR; do
  med() { awk -v s="$1" -v m="$m" '$1 == s && $2 == m { printf "%.4f\n", $4 / $3 / 1000 }' "$WORK/raw" | sort -n | awk '{ a[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
  s=$(med storescp); r=$(med rampart)
  read -r _ size floor < <(grep "^$m " "$WORK/floor")
  printf '| %-8s | %10.2f | %13.2f | %15.2f | %13.2f | %24s |\n' "$m" "$(echo "$size / 1000000" | bc -l)" "$s" "$r" "$(echo "$s / $r" | bc -l)" "$floor"
done
echo
echo "Rampart/storescp is the rate ratio (storescp ms / Rampart ms). The floor is one blob made durable"
echo "the way Rampart does it, with nothing else running; it must fit inside each Rampart instance."
