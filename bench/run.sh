#!/bin/sh
# Runs every bench binary given. Each prints lines "name value unit" on
# stdout (anything else on stderr); this script echoes them and writes all
# of them to bench/results.json as [{"name":..,"value":..,"unit":..}, ...].
set -e
out=bench/results.json
tmp=$(mktemp)
for b in "$@"; do
    echo "=== $b" >&2
    "$b" | tee -a "$tmp"
done
awk 'BEGIN { print "[" } NF >= 3 { if (n++) printf ",\n"; printf "  {\"name\": \"%s\", \"value\": %s, \"unit\": \"%s\"}", $1, $2, $3 }
     END { print ""; print "]" }' "$tmp" > "$out.tmp" && mv "$out.tmp" "$out"
rm -f "$tmp"
echo "wrote $out" >&2
