#!/usr/bin/env bash
# Runs every test of Rampart on a fresh Debian machine: installs the Debian packages the tests
# use when they are missing (needs root or sudo for that), the npm packages, builds, then runs
# the whole suite and ends with one line "N passed, N failed[, N skipped]".
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests talk to: DCMTK (real DIMSE peer and dcmdump), pydicom and numpy
# (sample files and an independent reader), PostgreSQL (the index contract on a real server),
# openssl (the node's self-signed certificate), nmap (its DICOM scripts probe the DIMSE port),
# chromium (headless, driven by playwright-core: passkeys through its virtual authenticator).
need=()
command -v dcmdump >/dev/null || need+=(dcmtk)
[ -d /usr/lib/python3/dist-packages/pydicom ] || need+=(python3-pydicom)
/usr/bin/python3 -c 'import numpy' 2>/dev/null || need+=(python3-numpy)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
command -v openssl >/dev/null || need+=(openssl)
command -v nmap >/dev/null || need+=(nmap)
[ -x /usr/bin/chromium ] || need+=(chromium)
# Pillow with OpenJPEG: the independent JPEG 2000 decoder and PNG/JPEG reader of the pixel tests.
/usr/bin/python3 -c 'import PIL' 2>/dev/null || need+=(python3-pil)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "installing Debian packages: ${need[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
npm run --silent build
npx tsc -p tsconfig.json

report=$(mktemp)
set +e
npx vitest run --reporter=default --reporter=json --outputFile.json="$report" "$@"
status=$?
set -e
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const skipped = r.numPendingTests + (r.numTodoTests || 0);
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed` + (skipped ? `, ${skipped} skipped` : ""));
' "$report" || true
rm -f "$report"
exit $status
