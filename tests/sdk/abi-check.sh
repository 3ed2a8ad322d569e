#!/bin/sh
# The ABI check (docs/plugin-abi.md, "Checking the ABI"): the layout of the
# public headers, printed by tests/sdk/abi_layout (generated from the
# headers by scripts/abi-layout.awk), must equal the layout recorded for the
# current DG_ABI_MAJOR.DG_ABI_MINOR in docs/abi/abi-MAJOR.MINOR.txt, and
# docs/plugin-abi.md must name that version. A minor version must also keep
# every member and constant of the earlier minors of its major unchanged.
set -u
src=${DG_TOP_SRCDIR:-.}
build=${DG_TOP_BUILDDIR:-.}
hdr="$src/include/duegate/plugin.h"
doc="$src/docs/plugin-abi.md"
maj=$(sed -n 's/^#define DG_ABI_MAJOR \([0-9][0-9]*\).*/\1/p' "$hdr")
min=$(sed -n 's/^#define DG_ABI_MINOR \([0-9][0-9]*\).*/\1/p' "$hdr")
ver="$maj.$min"
rec="$src/docs/abi/abi-$ver.txt"
cur=$(mktemp)
trap 'rm -f "$cur"' EXIT
fail=0

"$build/tests/sdk/abi_layout" >"$cur" || { echo "FAIL: cannot run abi_layout"; exit 1; }
echo "headers declare ABI $ver ($(grep -c '^struct' "$cur") structs, $(grep -c '^  ' "$cur") members, $(grep -c '^const' "$cur") constants)"

if [ ! -f "$rec" ]; then
    echo "FAIL: no recorded layout for ABI $ver ($rec)."
    echo "      After bumping DG_ABI_MAJOR/MINOR, record it: scripts/abi-record BUILD_DIR"
    exit 1
fi
if [ "$(head -1 "$rec")" != "$(head -1 "$cur")" ]; then
    echo "SKIP: layout recorded on another platform ($(head -1 "$rec")), this is $(head -1 "$cur")"
    exit 77
fi
if ! grep -q "Current version: \*\*ABI $ver\*\*" "$doc"; then
    echo "FAIL: docs/plugin-abi.md does not say 'Current version: **ABI $ver**'"
    fail=1
fi
if ! grep -q "^| $ver |" "$doc"; then
    echo "FAIL: docs/plugin-abi.md's change log has no row '| $ver | ... |'"
    fail=1
fi
if ! diff -u "$rec" "$cur"; then
    echo "FAIL: the public headers' ABI differs from the one recorded for ABI $ver (diff above)."
    echo "      An ABI change needs a version bump (docs/plugin-abi.md, 'Versioning policy'):"
    echo "      appended fields/slots/constants -> DG_ABI_MINOR+1; anything else -> DG_ABI_MAJOR+1."
    echo "      Then: scripts/abi-record BUILD_DIR, and a change-log row in docs/plugin-abi.md."
    fail=1
fi
# Earlier minors of this major: members and constants are frozen (reserved
# arrays may shrink when a field takes their place; struct sizes may grow).
for old in "$src"/docs/abi/abi-"$maj".*.txt; do
    [ -f "$old" ] && [ "$old" != "$rec" ] || continue
    omin=${old##*/abi-$maj.}
    omin=${omin%.txt}
    [ "$omin" -lt "$min" ] 2>/dev/null || continue
    grep -e '^  ' -e '^const' "$old" | grep -v '\.reserved ' | while IFS= read -r l; do
        grep -qxF -- "$l" "$cur" || echo "FAIL: ABI $ver changed what ABI $maj.$omin had: '$l'"
    done | grep . && fail=1
done
[ "$fail" = 0 ] && echo "ok: ABI $ver layout matches $rec"
exit $fail
