#!/usr/bin/env bash
# Runs jest as TEST_SHARDS processes (default 2) side by side, each on a test stack of its
# own: slots TEST_STACK_SLOT (default 0), +1, ... (mod 10). The stack tests spend most of
# their time waiting on servers and timers, so two stacks on two cores take little more
# than half the time of one. Each shard's lines stream as they come, prefixed [k]; each
# shard's totals and failures are printed again at the end, unprefixed. With arguments
# (a path, a -t filter) one jest runs them on TEST_STACK_SLOT, as `npx jest` would.
set -uo pipefail
cd "$(dirname "$0")/.."

base=${TEST_STACK_SLOT:-0}
shards=${TEST_SHARDS:-2}
if ! [[ "$base" =~ ^[0-9]$ ]]; then echo "TEST_STACK_SLOT must be a whole number from 0 to 9, got '$base'" >&2; exit 2; fi
if ! [[ "$shards" =~ ^[1-9]$ ]]; then echo "TEST_SHARDS must be from 1 to 9, got '$shards'" >&2; exit 2; fi
if [ $# -gt 0 ] || [ "$shards" -eq 1 ]; then exec npx jest --runInBand "$@"; fi

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
pids=()
for k in $(seq 1 "$shards"); do
  slot=$(((base + k - 1) % 10))
  (
    TEST_STACK_SLOT=$slot npx jest --runInBand --passWithNoTests --shard="$k/$shards" 2>&1 |
      tee "$out/$k.log" | sed -u "s/^/[$k] /"
  ) &
  pids+=($!)
  printf '\033[1m[shards]\033[0m shard %s/%s on test stack slot %s\n' "$k" "$shards" "$slot" >&2
done

failed=()
for k in $(seq 1 "$shards"); do
  wait "${pids[$((k - 1))]}" || failed+=("$k")
done

for k in $(seq 1 "$shards"); do
  printf '\n\033[1m[shards]\033[0m shard %s/%s:\n' "$k" "$shards"
  # From jest's closing summary on: failing tests with their errors, then the totals.
  awk '/^Summary of all failing tests/ || /^Test Suites:/ {on = 1} on' "$out/$k.log"
done
if [ ${#failed[@]} -gt 0 ]; then
  printf '\033[1m[shards]\033[0m failed: shard %s\n' "${failed[*]}" >&2
  exit 1
fi
