#!/bin/sh
# make check: the console in headless Chromium against the seeded admin
# server. SKIP (77) without chromium, node or tests/browser/node_modules
# (.ci/run installs them: apt chromium, `npm ci`).
srcdir=${srcdir:-.}
here="$srcdir/tests/browser"
chromium=${CHROMIUM:-/usr/bin/chromium}
[ -x "$chromium" ] || { echo "SKIP: no $chromium"; exit 77; }
command -v node >/dev/null 2>&1 || { echo "SKIP: no node"; exit 77; }
[ -d "$here/node_modules/playwright-core" ] || { echo "SKIP: run npm ci in $here"; exit 77; }
token=browser-test-token
dir=$(mktemp -d)
mkfifo "$dir/out"
DG_ADMIN_TOKEN=$token ./tests/browser/seed_admin "$srcdir/console" >"$dir/out" &
pid=$!
exec 3<"$dir/out"
port=
while read -r line <&3; do # blocks until the server printed its port (or exited)
    case $line in PORT\ *) port=${line#PORT }; break ;; esac
done
if [ -z "$port" ]; then
    echo "seed_admin did not start"; kill $pid 2>/dev/null; rm -rf "$dir"; exit 1
fi
CHROMIUM=$chromium node "$here/console.mjs" "http://127.0.0.1:$port" "$token" tests/browser/artifacts
rc=$?
kill -TERM $pid
cat <&3
wait $pid || rc=1
exec 3<&-
rm -rf "$dir"
exit $rc
