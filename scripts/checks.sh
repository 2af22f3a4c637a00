#!/usr/bin/env bash
# The checks `npm test` runs before jest: types, lint, format, import layering, alert
# rules, and the build the stack tests run. They are independent, so they run at once
# (most of each is one core's work, and a tsc waits on the disk now and then); each
# one's output is kept and printed only when it fails, under its name.
set -uo pipefail
cd "$(dirname "$0")/.."

checks=(typecheck lint format:check deps rules:check build)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

declare -A pids
for c in "${checks[@]}"; do
  npm run -s "$c" >"$out/$c.log" 2>&1 &
  pids[$c]=$!
done

failed=()
for c in "${checks[@]}"; do
  if ! wait "${pids[$c]}"; then failed+=("$c"); fi
done

for c in "${failed[@]}"; do
  printf '\033[1m[checks] %s failed:\033[0m\n' "$c" >&2
  cat "$out/$c.log" >&2
done
if [ ${#failed[@]} -gt 0 ]; then
  printf '\033[1m[checks]\033[0m failed: %s\n' "${failed[*]}" >&2
  exit 1
fi
printf '\033[1m[checks]\033[0m passed: %s\n' "${checks[*]}" >&2
