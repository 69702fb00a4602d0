#!/bin/sh
# Runs every test binary given, then the shell tests; the exit code is the
# verdict and the last line reads "check: N passed, N failed".
pass=0; fail=0; failed=""
for t in "$@" tests/cli.sh tests/model.sh tests/regress.sh; do
    [ -e "$t" ] || continue
    echo "=== $t"
    case "$t" in *.sh) cmd="sh $t" ;; *) cmd="$t" ;; esac
    if $cmd; then pass=$((pass + 1)); else fail=$((fail + 1)); failed="$failed $t"; fi
done
[ -n "$failed" ] && echo "failed:$failed"
echo "check: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
