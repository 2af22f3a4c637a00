#!/usr/bin/env bash
# `npm run test:e2e [-- --server dev|postgres] [jest arguments]`: the end-to-end tests
# (test/e2e) on a test stack of their own (TEST_STACK_SLOT), on the dev server by default
# or on the real Temporal server on the stack's Postgres (`--server postgres`, built first
# with `npm run temporal:server -- build`). Outside `npm test`: that build takes minutes.
set -euo pipefail
cd "$(dirname "$0")/.."

server=dev
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --server) server=${2:-}; shift 2 || { echo "--server needs a value: dev or postgres" >&2; exit 2; } ;;
    --server=*) server=${1#--server=}; shift ;;
    *) args+=("$1"); shift ;;
  esac
done
case "$server" in
  dev) ;;
  postgres) npx tsx scripts/stack/temporal-server-cli.ts status >/dev/null || {
      echo "the real Temporal server is not built: run npm run temporal:server -- build" >&2; exit 2; } ;;
  *) echo "--server must be dev or postgres, got '$server'" >&2; exit 2 ;;
esac

npm run -s build
[ ${#args[@]} -eq 0 ] && args=(test/e2e)
# Paths first: --selectProjects takes every word after it as a project name.
TEMPORAL_SERVER=$server exec npx jest --runInBand "${args[@]}" --selectProjects stack
