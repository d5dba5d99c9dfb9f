#!/usr/bin/env bash
# Validates the shipped Prometheus configuration, rules and rule unit tests with promtool.
# Runnable from any working directory; exits non-zero on the first failure.
# promtool comes with Debian's `prometheus` package (apt-get install prometheus).
set -euo pipefail

dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PROMTOOL="${PROMTOOL:-promtool}"

if ! command -v "$PROMTOOL" >/dev/null 2>&1; then
  echo "check.sh: promtool not found (install Debian's 'prometheus' package or set PROMTOOL)" >&2
  exit 127
fi

shopt -s nullglob
rules=("$dir"/rules/*.yml)
tests=("$dir"/tests/*.yml)
shopt -u nullglob
if ((${#rules[@]} == 0)) || ((${#tests[@]} == 0)); then
  echo "check.sh: no rule files in $dir/rules or no tests in $dir/tests" >&2
  exit 1
fi

"$PROMTOOL" --version 2>&1 | head -n 1

echo "== promtool check config"
# Run from the config's directory so that rule_files resolve as they do in the container.
(cd "$dir" && "$PROMTOOL" check config prometheus.yml prometheus-replicas.yml)

echo "== promtool check rules"
"$PROMTOOL" check rules "${rules[@]}"

echo "== promtool test rules"
"$PROMTOOL" test rules "${tests[@]}"

echo "prometheus/check.sh: OK"
