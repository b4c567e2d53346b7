#!/usr/bin/env bash
# Serving benchmark (docs/benchmarks.md): this service against llama.cpp's own llama-server, both on the
# same llama.cpp libraries built from the engine's source bundle for this CPU, on the same GGUF, with the
# same threads, through the same bounded loopback load of streaming clients (StreamingLoad:
# /v1/completions, greedy).
# Run from the repository root as
#   ./moe bench-serving [--model F.gguf] [--clients "1 4 8 16"] [--requests 4] [--max-tokens 64] [--threads 2]
#                       [--ctx 512] [--lane-rows 64]
# For each client count N, one after the other: llama-server --parallel N; this service with one
# context per request (sessions, the default); this service with continuous batching (batching-lanes N).
# Then, with batching-lanes 8: 4 plain and 4 SCMoE clients (each plain client's tokens/s against its
# tokens/s in the 8-plain run). The default model is the 398 MB random GLM-4.5-style benchmark model
# (written once by ./moe bench, or here). Results: benchmarks/target/results/serving.jsonl and a table.
set -euo pipefail
shopt -s inherit_errexit
cd "$(dirname "$0")/.."
TAG=serving
source benchmarks/common.sh

MODEL="" CLIENTS="1 4 8 16" REQUESTS=4 MAX_TOKENS=64 THREADS=2 CTX=512 LANE_ROWS=64 PORT=18431
while (($#)); do
  case "$1" in
    --model) MODEL=${2:?}; shift 2 ;;
    --clients) CLIENTS=${2:?}; shift 2 ;;
    --requests) REQUESTS=${2:?}; shift 2 ;;
    --max-tokens) MAX_TOKENS=${2:?}; shift 2 ;;
    --threads) THREADS=${2:?}; shift 2 ;;
    --ctx) CTX=${2:?}; shift 2 ;;
    --lane-rows) LANE_ROWS=${2:?}; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
for v in $CLIENTS "$REQUESTS" "$MAX_TOKENS" "$THREADS" "$CTX" "$LANE_ROWS"; do
  [[ "$v" =~ ^[1-9][0-9]*$ ]] || die "numbers must be positive integers, got '$v'"
done
[[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]] || die "JAVA_HOME is not set to a JDK 25; run this through ./moe bench-serving"
JAVA="$JAVA_HOME/bin/java"
for tool in cmake g++ curl; do
  command -v "$tool" >/dev/null 2>&1 || die "'$tool' is required (apt-get install cmake g++ curl)"
done

# 1. this service and the load client
say "building the service and the benchmarks"
./mvnw -q -B -ntp -Pbench -DskipTests package -pl samples,benchmarks -am >&2
SERVICE_CP="samples/target/classes:$(cat samples/target/classpath.txt)"
BENCH_CP="benchmarks/target/classes:$(cat benchmarks/target/classpath.txt)"
[[ -d "$SRC" ]] || die "llama.cpp source not found at $SRC (the adapter-core build fetches it)"

# 2. the engine's natives and llama-server, built once from the same llama.cpp source in one CMake tree for
#    this CPU, so that both run on the very same libraries (the same build run.sh measures the engine on)
build_native_engine
LLAMA_SERVER="$NATIVE_BUILD/bin/llama-server"
if [[ ! -x "$LLAMA_SERVER" ]]; then
  say "building llama-server in $NATIVE_BUILD; minutes, once"
  # adds the server's targets to the tree; the libraries' own flags stay as they are (checked below)
  { cmake -DLLAMA_BUILD_SERVER=ON "$NATIVE_BUILD" \
      && cmake --build "$NATIVE_BUILD" --config Release --target llama-server -j "$(nproc)"; } >"$NATIVE_BUILD.llama-server.log" 2>&1 \
    || die "building llama-server failed, see $NATIVE_BUILD.llama-server.log"
fi
check_same_libraries

# 3. the model
CP=$BENCH_CP
[[ -n "$MODEL" ]] || MODEL=$(bench_model glm4moe)
[[ -f "$MODEL" ]] || die "model not found: $MODEL"
MODEL_ID=$(basename "$MODEL" .gguf)

mkdir -p "$RESULTS"
OUT="$RESULTS/serving.jsonl"
: >"$OUT"
SERVER_PID=""
stop_server() {
  if [[ -n "$SERVER_PID" ]]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
  fi
}
trap stop_server EXIT
wait_ready() { # URL: until it answers 200, at most 5 minutes
  for _ in $(seq 1 600); do
    curl -fs -o /dev/null "$1" && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || die "the server exited while starting"
    sleep 0.5
  done
  die "the server did not become ready"
}
load() { # LABEL CLIENTS [extra StreamingLoad args]: one JSON line into $OUT
  local label=$1 clients=$2; shift 2
  say "$label: $clients clients x $REQUESTS requests of $MAX_TOKENS tokens"
  "$JAVA" -cp "$BENCH_CP" dev.moeadapter.bench.StreamingLoad --url "http://127.0.0.1:$PORT" --model "$MODEL_ID" \
    --clients "$clients" --requests "$REQUESTS" --max-tokens "$MAX_TOKENS" --label "$label" "$@" | tee -a "$OUT" >&2
}
start_llama() { # PARALLEL
  "$LLAMA_SERVER" -m "$MODEL" -t "$THREADS" -tb "$THREADS" --parallel "$1" -c $((CTX * $1)) --port "$PORT" \
    --host 127.0.0.1 --no-webui >"$RESULTS/llama-server.log" 2>&1 &
  SERVER_PID=$!
  wait_ready "http://127.0.0.1:$PORT/health"
}
start_ours() { # extra properties...
  "$JAVA" --enable-native-access=ALL-UNNAMED -Dmoe.adapter.native.dir="$NATIVE_DIR" -cp "$SERVICE_CP" dev.moeadapter.samples.service.MoeAdapterService \
    --moe.adapter.model="$MODEL" --server.port="$PORT" --server.address=127.0.0.1 --moe.adapter.context-size="$CTX" \
    --moe.adapter.acquire-timeout=10m "$@" >"$RESULTS/service.log" 2>&1 &
  SERVER_PID=$!
  wait_ready "http://127.0.0.1:$PORT/actuator/health/readiness"
}

for n in $CLIENTS; do
  start_llama "$n"
  load "llama-server --parallel $n" "$n" --extra '{"ignore_eos":true}'
  stop_server
  start_ours --moe.adapter.threads=1
  load "sessions (2 x 1 thread)" "$n"
  stop_server
  start_ours --moe.adapter.batching-lanes="$n" --moe.adapter.batching-lane-rows="$LANE_ROWS" --moe.adapter.threads="$THREADS"
  load "decode loop ($n lanes)" "$n"
  if ((n == 8)); then
    load "decode loop (8 lanes), 4 plain + 4 scmoe" 8 --arms none:4,scmoe:4
  fi
  stop_server
done

"$JAVA" -cp "$BENCH_CP" dev.moeadapter.bench.StreamingReport "$OUT"
