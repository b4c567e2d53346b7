#!/usr/bin/env bash
# Two builds of this service side by side under the same streaming load (docs/benchmarks.md): each checkout's
# service with the same settings, on the same GGUF, one after the other and alternating, measured with the
# serving benchmark's load client (StreamingLoad) once per round after warm-up loads. For a change that the
# serving benchmark's fixed load (greedy, llama-server beside) does not isolate, e.g. sampled requests.
# Run from the repository root as
#   ./moe bench-ab --before DIR --after DIR [--extra '{"temperature":1}'] [--rounds 2] [--passes 2] [--warmup 2]
#                  [--clients 8] [--requests 4] [--max-tokens 64] [--model F.gguf] [-- --moe.adapter.X=V ...]
# DIR: a checkout (e.g. `git worktree add /tmp/before REV`), built here if it has no samples/target/classpath.txt.
# After `--`: the service settings of both builds (default: the serving benchmark's decode loop of 8 lanes, a KV stream
# per sequence, context 512, 2 threads, 8 kept prompts). Results: one JSON line per measured load into
# benchmarks/target/results/builds-ab.jsonl, and a table of medians.
set -euo pipefail
shopt -s inherit_errexit
cd "$(dirname "$0")/.."
TAG=builds-ab
source benchmarks/common.sh

BEFORE="" AFTER="" EXTRA='{}' ROUNDS=2 PASSES=2 WARMUP=2 CLIENTS=8 REQUESTS=4 MAX_TOKENS=64 MODEL="" PORT=18531
SETTINGS=(--moe.adapter.context-size=512 --moe.adapter.batching-lanes=8 --moe.adapter.batching-lane-rows=64
  --moe.adapter.batching-prefixes=8 --moe.adapter.threads=2 --moe.adapter.kv-layout=per-sequence)
while (($#)); do
  case "$1" in
    --before) BEFORE=${2:?}; shift 2 ;;
    --after) AFTER=${2:?}; shift 2 ;;
    --extra) EXTRA=${2:?}; shift 2 ;;
    --rounds) ROUNDS=${2:?}; shift 2 ;;
    --passes) PASSES=${2:?}; shift 2 ;;
    --warmup) WARMUP=${2:?}; shift 2 ;;
    --clients) CLIENTS=${2:?}; shift 2 ;;
    --requests) REQUESTS=${2:?}; shift 2 ;;
    --max-tokens) MAX_TOKENS=${2:?}; shift 2 ;;
    --model) MODEL=${2:?}; shift 2 ;;
    --) shift; SETTINGS=("$@"); break ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
[[ -n "$BEFORE" && -n "$AFTER" ]] || die "--before DIR and --after DIR are required (checkouts of the two builds)"
for v in "$ROUNDS" "$PASSES" "$CLIENTS" "$REQUESTS" "$MAX_TOKENS"; do
  [[ "$v" =~ ^[1-9][0-9]*$ ]] || die "numbers must be positive integers, got '$v'"
done
[[ "$WARMUP" =~ ^[0-9]+$ ]] || die "--warmup must be a whole number, got '$WARMUP'"
[[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]] || die "JAVA_HOME is not set to a JDK 25; run this through ./moe bench-ab"
JAVA="$JAVA_HOME/bin/java"

say "building the load client"
./mvnw -q -B -ntp -Pbench -DskipTests package -pl benchmarks -am >&2
CP="benchmarks/target/classes:$(cat benchmarks/target/classpath.txt)"
[[ -n "$MODEL" ]] || MODEL=$(bench_model glm4moe)
[[ -f "$MODEL" ]] || die "model not found: $MODEL"
for dir in "$BEFORE" "$AFTER"; do
  [[ -x "$dir/mvnw" ]] || die "$dir is not a checkout of this project"
  if [[ ! -f "$dir/samples/target/classpath.txt" ]]; then
    say "building $dir"
    (cd "$dir" && ./mvnw -q -B -ntp -DskipTests package -pl samples -am >&2)
  fi
done

mkdir -p "$RESULTS"
OUT="$RESULTS/builds-ab.jsonl"
: >"$OUT"
PID=""
trap '[[ -n "$PID" ]] && kill "$PID" 2>/dev/null || true' EXIT
measure() { # NAME DIR PASS
  local name=$1 dir=$2 pass=$3 model_id line
  (cd "$dir" && exec "$JAVA" --enable-native-access=ALL-UNNAMED -cp "samples/target/classes:$(cat samples/target/classpath.txt)" \
    dev.moeadapter.samples.service.MoeAdapterService --moe.adapter.model="$MODEL" --server.port="$PORT" --server.address=127.0.0.1 \
    --moe.adapter.acquire-timeout=10m --spring.datasource.url="jdbc:h2:mem:builds-ab-$name" "${SETTINGS[@]}") \
    >"$RESULTS/builds-ab-$name.log" 2>&1 &
  PID=$!
  for _ in $(seq 300); do
    curl -sf "http://127.0.0.1:$PORT/actuator/health/readiness" >/dev/null 2>&1 && break
    kill -0 "$PID" 2>/dev/null || die "the $name service stopped (log: $RESULTS/builds-ab-$name.log)"
    sleep 1
  done
  model_id=$(curl -sf "http://127.0.0.1:$PORT/v1/models" | grep -o '"id":"[^"]*"' | head -1 | cut -d'"' -f4)
  for round in $(seq $((1 - WARMUP)) "$ROUNDS"); do
    say "$name, pass $pass: $CLIENTS clients x $REQUESTS requests of $MAX_TOKENS tokens, $( ((round > 0)) && echo "round $round" || echo "warm-up")"
    line=$("$JAVA" -cp "$CP" dev.moeadapter.bench.StreamingLoad --url "http://127.0.0.1:$PORT" --model "$model_id" --clients "$CLIENTS" \
      --requests "$REQUESTS" --max-tokens "$MAX_TOKENS" --label "$name" --round "$((round > 0 ? round + (pass - 1) * ROUNDS : 0))" \
      --pid "$PID" --extra "$EXTRA")
    echo "$line" >&2
    ((round > 0)) && echo "$line" >>"$OUT"
  done
  kill "$PID"
  wait "$PID" 2>/dev/null || true
  PID=""
}
for pass in $(seq "$PASSES"); do
  measure before "$BEFORE" "$pass"
  measure after "$AFTER" "$pass"
done
"$JAVA" -cp "$CP" dev.moeadapter.bench.StreamingReport "$OUT" before
