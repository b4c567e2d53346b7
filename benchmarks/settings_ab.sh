#!/usr/bin/env bash
# The service against itself under other settings, under the load run's mix (docs/benchmarks.md): each
# configuration's service is started as a user starts it (`./moe serve`), warmed up with one load, measured with
# `./moe load --arms none` (the lab prompts, every other request streamed, in turn over the native endpoint, greedy,
# and both OpenAI endpoints, sampled at their default temperature), and stopped; the configurations alternate, round
# after round, so that the machine's drift falls on all of them alike.
# Run from the repository root as
#   ./moe bench-settings [--model F.gguf] [--rounds 3] [--clients 8] [--requests 64] [--max-tokens 32]
#                        [--config NAME='--moe.adapter.X=V ...'] ...
# Default configurations: sessions (the service's default) and loop8 (--moe.adapter.batching-lanes=8). Results: the
# load line of every measured load into benchmarks/target/results/settings-ab.txt, and requests/s per round with
# each configuration's ratio to the first one's in the same round.
set -euo pipefail
shopt -s inherit_errexit
cd "$(dirname "$0")/.."
TAG=bench-settings
source benchmarks/common.sh

MODEL="" ROUNDS=3 CLIENTS=8 REQUESTS=64 MAX_TOKENS=32 PORT=18532
NAMES=() SETTINGS=()
while (($#)); do
  case "$1" in
    --model) MODEL=${2:?}; shift 2 ;;
    --rounds) ROUNDS=${2:?}; shift 2 ;;
    --clients) CLIENTS=${2:?}; shift 2 ;;
    --requests) REQUESTS=${2:?}; shift 2 ;;
    --max-tokens) MAX_TOKENS=${2:?}; shift 2 ;;
    --config) NAMES+=("${2%%=*}"); SETTINGS+=("${2#*=}"); shift 2 ;;
    *) die "unknown argument $1 (see the header of $0)" ;;
  esac
done
if ((${#NAMES[@]} == 0)); then
  NAMES=(sessions loop8) SETTINGS=("" "--moe.adapter.batching-lanes=8")
fi
[[ -z "$MODEL" || -f "$MODEL" ]] || die "no model file $MODEL"

./moe mvn -q -B -ntp -DskipTests package -pl samples -am >&2
mkdir -p "$RESULTS"
OUT="$RESULTS/settings-ab.txt" LOG="$RESULTS/settings-ab-service.log"
: > "$OUT"
declare -A RATE

stop_service() {
  if [[ -n "${SERVICE_PID:-}" ]]; then
    kill "$SERVICE_PID" 2>/dev/null || true
    wait "$SERVICE_PID" 2>/dev/null || true
    SERVICE_PID=""
  fi
}
trap stop_service EXIT

for round in $(seq 1 "$ROUNDS"); do
  for i in "${!NAMES[@]}"; do
    name=${NAMES[$i]}
    # shellcheck disable=SC2206 # the settings are words on purpose
    args=(${MODEL:+--model "$MODEL"} --port "$PORT" --spring.datasource.url=jdbc:h2:mem:settings ${SETTINGS[$i]})
    ./moe serve "${args[@]}" > "$LOG" 2>&1 &
    SERVICE_PID=$! # moe serve execs the JVM
    for _ in $(seq 1 180); do curl -sf "localhost:$PORT/v1/models" > /dev/null 2>&1 && break; sleep 1; done
    id=$(curl -sf "localhost:$PORT/v1/models" | sed -nE 's/.*"id":"([^"]+)".*/\1/p') || true
    [[ -n "$id" ]] || die "the $name service did not start (its log: $LOG)"
    load=(./moe load --url "http://127.0.0.1:$PORT" --model-id "$id" --arms none --clients "$CLIENTS" --max-tokens "$MAX_TOKENS")
    "${load[@]}" --requests 16 > /dev/null 2>&1 || die "the $name warm-up load failed"
    line=$("${load[@]}" --requests "$REQUESTS" --pid "$SERVICE_PID" 2>&1 | grep ' requests from ') \
      || die "the $name load failed"
    echo "round $round $name: $line" >> "$OUT"
    RATE[$round,$name]=$(sed -E 's/.*\(([0-9.]+) req\/s\).*/\1/' <<< "$line")
    say "round $round, $name: ${RATE[$round,$name]} requests/s"
    stop_service
    sleep 2
  done
done

printf '| round |' ; printf ' %s |' "${NAMES[@]}"; printf '\n|---|'; printf -- '---:|%.0s' "${NAMES[@]}"; printf '\n'
for round in $(seq 1 "$ROUNDS"); do
  printf '| %s |' "$round"
  first=${RATE[$round,${NAMES[0]}]}
  for name in "${NAMES[@]}"; do
    printf ' %s (%s×) |' "${RATE[$round,$name]}" "$(awk -v a="${RATE[$round,$name]}" -v b="$first" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')"
  done
  printf '\n'
done
say "load lines: $OUT"
