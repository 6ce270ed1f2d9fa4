#!/usr/bin/env bash
# Entry point behind `npm test`, `npm run demo` and `npm run setup`: works on a fresh clone of a
# machine that has only Node 20 and npm. Bootstraps the pinned pnpm, installs, builds, then runs
# the requested job.
set -euo pipefail
cd "$(dirname "$0")/.."
task="${1:-setup}"
shift || true

export TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1
# node-gyp (better-sqlite3) must build against this Node's own headers; it cannot download them.
export npm_config_nodedir="${npm_config_nodedir:-$(node -p 'require("path").resolve(process.execPath, "../..")')}"

PNPM_VERSION=10.34.9
if [ "$(pnpm --version 2>/dev/null || true)" != "$PNPM_VERSION" ]; then
  # Global install when the npm prefix is writable; otherwise a project-local copy.
  if ! npm install -g --silent "pnpm@$PNPM_VERSION" >/dev/null 2>&1 \
     || [ "$(pnpm --version 2>/dev/null || true)" != "$PNPM_VERSION" ]; then
    npm install --silent --no-save --prefix .tools "pnpm@$PNPM_VERSION" >/dev/null
    export PATH="$PWD/.tools/node_modules/.bin:$PATH"
  fi
fi

pnpm install --frozen-lockfile --reporter=silent
pnpm exec turbo run build --output-logs=errors-only

case "$task" in
  setup) ;;
  test) pnpm exec vitest run "$@" ;;
  demo) node packages/cli/dist/bin.js demo "$@" ;;
  *) echo "unknown task: $task (setup | test | demo)" >&2; exit 2 ;;
esac
