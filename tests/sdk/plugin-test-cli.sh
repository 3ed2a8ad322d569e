#!/bin/sh
# `duegate plugin-test` from the command line: exit 0 and a PASSED report for
# the in-tree plugins, exit 1 for a broken one, 2 for a usage error.
set -u
top=${DG_TOP_BUILDDIR:-.}
dg="$top/duegate"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
fail=0

expect() { # expect STATUS TEXT -- ARGS...
    want=$1 text=$2
    shift 3
    "$dg" "$@" >"$out" 2>&1
    got=$?
    if [ "$got" != "$want" ] || ! grep -qF -- "$text" "$out"; then
        echo "FAIL: duegate $* exited $got (want $want), output:"
        cat "$out"
        fail=1
    else
        echo "ok: duegate $* -> $got"
    fi
}

# Every in-tree plugin passes the kit, with plugins/NAME/plugin-test.json as
# its instance section when the placeholders built from its schema do not fit.
src=${DG_TOP_SRCDIR:-.}
for la in "$top"/plugins/*.la; do
    name=$(basename "$la" .la)
    if [ -f "$src/plugins/$name/plugin-test.json" ]; then
        expect 0 "PASSED:" -- plugin-test "$la" -c "$src/plugins/$name/plugin-test.json"
    else
        expect 0 "PASSED:" -- plugin-test "$la"
    fi
done
expect 0 "PASSED: 7 passed" -- plugin-test "$top/tests/sdk/skeleton.la"
expect 1 "completed 2 times" -- plugin-test "$top/tests/sdk/broken_twice.la"
expect 2 "usage: duegate plugin-test" -- plugin-test
expect 0 "plugin-test PATH" -- --help
exit $fail
