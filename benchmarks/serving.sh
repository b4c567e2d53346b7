#!/usr/bin/env bash
# Serving benchmark (docs/benchmarks.md): this service against llama.cpp's own llama-server, both on the
# same llama.cpp libraries built from the engine's source bundle for this CPU, on the same GGUF, with the
# same threads, through the same bounded loopback load of streaming clients (StreamingLoad:
# /v1/completions, greedy).
# Run from the repository root as
#   ./moe bench-serving [--model F.gguf | --bench-model glm4moe|olmoe|qwen3next] [--clients "1 4 8 16"] [--requests 4] [--max-tokens 64] [--threads 2]
#                       [--ctx 512] [--lane-rows 64] [--prefixes 16] [--rounds 3] [--warmup 4] [--cmake-args "-DGGML_LLAMAFILE=OFF"]
# For each client count N: llama-server --parallel N; this service with one context per request
# (sessions, the default); this service with continuous batching (batching-lanes N), with one KV cache
# and with a KV stream per sequence (kv-layout=per-sequence); at N = 8 also with batch-invariant
# kernels (flash attention off, an f32 KV cache) on both layouts, and 4 plain and 4 SCMoE clients beside each
# other on each layout and on a stream per sequence with batch-invariant kernels (each plain client's tokens/s
# against its tokens/s in the 8-plain run). Each is warmed up with --warmup unrecorded loads (a JVM compiles
# its hot code over the first few: see docs/benchmarks.md, "Where the loop's time goes"), then measured once per
# round, the order alternating by round. The default model is the 398 MB random GLM-4.5-style benchmark model (written once by
# ./moe bench, or here); --bench-model names another random benchmark model (qwen3next: a hybrid memory).
# --cmake-args adds llama.cpp build flags to both servers' libraries (built apart from the default ones). --prefixes: prompts the decode loop keeps for reuse (batching-prefixes), as many as the
# load's distinct prompt states, since llama-server keeps its prompts too (an 8 GiB host cache by default): its 8
# prompts, plainly and under SCMoE's weak routing (a weak view reads its prompt under its own routing).
# Results: benchmarks/target/results/serving.jsonl and a table (medians over rounds).
set -euo pipefail
shopt -s inherit_errexit
cd "$(dirname "$0")/.."
TAG=serving
source benchmarks/common.sh

MODEL="" BENCH_MODEL=glm4moe CLIENTS="1 4 8 16" REQUESTS=4 MAX_TOKENS=64 THREADS=2 CTX=512 LANE_ROWS=64 PREFIXES=16 ROUNDS=3 WARMUP=4 PORT=18431
while (($#)); do
  case "$1" in
    --model) MODEL=${2:?}; shift 2 ;;
    --bench-model) BENCH_MODEL=${2:?}; shift 2 ;;
    --clients) CLIENTS=${2:?}; shift 2 ;;
    --requests) REQUESTS=${2:?}; shift 2 ;;
    --max-tokens) MAX_TOKENS=${2:?}; shift 2 ;;
    --threads) THREADS=${2:?}; shift 2 ;;
    --ctx) CTX=${2:?}; shift 2 ;;
    --lane-rows) LANE_ROWS=${2:?}; shift 2 ;;
    --prefixes) PREFIXES=${2:?}; shift 2 ;;
    --rounds) ROUNDS=${2:?}; shift 2 ;;
    --warmup) WARMUP=${2:?}; shift 2 ;;
    --cmake-args) EXTRA_CMAKE_ARGS=${2:?}; shift 2 ;; # llama.cpp build flags for both servers' libraries
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
[[ "$PREFIXES" =~ ^[0-9]+$ ]] || die "--prefixes must be a whole number, got '$PREFIXES'"
for v in $CLIENTS "$REQUESTS" "$MAX_TOKENS" "$THREADS" "$CTX" "$LANE_ROWS" "$ROUNDS" "$WARMUP"; do
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
[[ "$BENCH_MODEL" =~ ^(glm4moe|olmoe|qwen3next)$ ]] || die "--bench-model must be glm4moe, olmoe or qwen3next, got '$BENCH_MODEL'"
[[ -n "$MODEL" ]] || MODEL=$(bench_model "$BENCH_MODEL")
[[ -f "$MODEL" ]] || die "model not found: $MODEL"
MODEL_ID=$(basename "$MODEL" .gguf)

mkdir -p "$RESULTS"
OUT="$RESULTS/serving.jsonl"
: >"$OUT"
PIDS=()
declare -A PID_OF # port -> its server's process, whose CPU each load reports
stop_servers() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  PIDS=()
}
trap stop_servers EXIT
wait_ready() { # PID URL: until it answers 200, at most 5 minutes
  for _ in $(seq 1 600); do
    curl -fs -o /dev/null "$2" && return 0
    kill -0 "$1" 2>/dev/null || die "a server exited while starting (logs in $RESULTS)"
    sleep 0.5
  done
  die "a server did not become ready (logs in $RESULTS)"
}
load() { # PORT LABEL CLIENTS ROUND [extra StreamingLoad args]: one JSON line into $OUT (ROUND <= 0: a warm-up, not kept)
  local port=$1 label=$2 clients=$3 round=$4; shift 4
  say "$label: $clients clients x $REQUESTS requests of $MAX_TOKENS tokens$( ((round > 0)) && echo ", round $round" || echo ", warm-up")"
  local line
  line=$("$JAVA" -cp "$BENCH_CP" dev.moeadapter.bench.StreamingLoad --url "http://127.0.0.1:$port" --model "$MODEL_ID" \
    --clients "$clients" --requests "$REQUESTS" --max-tokens "$MAX_TOKENS" --label "$label" --round "$((round > 0 ? round : 0))" \
    --pid "${PID_OF[$port]}" "$@")
  echo "$line" >&2
  ((round > 0)) && echo "$line" >>"$OUT" || true
}
start_llama() { # PORT PARALLEL
  "$LLAMA_SERVER" -m "$MODEL" -t "$THREADS" -tb "$THREADS" --parallel "$2" -c $((CTX * $2)) --port "$1" \
    --host 127.0.0.1 --no-webui >"$RESULTS/llama-server-$1.log" 2>&1 &
  PIDS+=($!)
  PID_OF[$1]=$!
  wait_ready $! "http://127.0.0.1:$1/health"
}
start_ours() { # PORT extra properties... (each its own in-memory outcome store: they run side by side)
  local port=$1; shift
  "$JAVA" --enable-native-access=ALL-UNNAMED -Dmoe.adapter.native.dir="$NATIVE_DIR" -cp "$SERVICE_CP" dev.moeadapter.samples.service.MoeAdapterService \
    --moe.adapter.model="$MODEL" --server.port="$port" --server.address=127.0.0.1 --moe.adapter.context-size="$CTX" \
    --moe.adapter.acquire-timeout=10m --spring.datasource.url="jdbc:h2:mem:bench-$port" "$@" >"$RESULTS/service-$port.log" 2>&1 &
  PIDS+=($!)
  PID_OF[$port]=$!
  wait_ready $! "http://127.0.0.1:$port/actuator/health/readiness"
}

# Per client count N, every server is started (each on its own port, idle while another is measured), warmed up
# with --warmup unrecorded loads, then measured once per round; the rounds alternate which server goes first.
for n in $CLIENTS; do
  start_llama "$PORT" "$n"
  start_ours $((PORT + 1)) --moe.adapter.threads=1
  start_ours $((PORT + 2)) --moe.adapter.batching-lanes="$n" --moe.adapter.batching-lane-rows="$LANE_ROWS" --moe.adapter.batching-prefixes="$PREFIXES" --moe.adapter.threads="$THREADS" \
    --moe.adapter.kv-layout=unified
  start_ours $((PORT + 4)) --moe.adapter.batching-lanes="$n" --moe.adapter.batching-lane-rows="$LANE_ROWS" --moe.adapter.batching-prefixes="$PREFIXES" --moe.adapter.threads="$THREADS" \
    --moe.adapter.kv-layout=per-sequence
  runs=("$PORT|llama-server --parallel $n|--extra|{\"ignore_eos\":true}" "$((PORT + 1))|sessions (2 x 1 thread)"
        "$((PORT + 2))|decode loop ($n lanes)" "$((PORT + 4))|decode loop ($n lanes), KV stream per sequence")
  if ((n == 8)); then
    start_ours $((PORT + 3)) --moe.adapter.batching-lanes="$n" --moe.adapter.batching-lane-rows="$LANE_ROWS" --moe.adapter.batching-prefixes="$PREFIXES" --moe.adapter.threads="$THREADS" \
      --moe.adapter.kv-layout=unified --moe.adapter.flash-attention=off --moe.adapter.kv-cache-type=f32
    start_ours $((PORT + 5)) --moe.adapter.batching-lanes="$n" --moe.adapter.batching-lane-rows="$LANE_ROWS" --moe.adapter.batching-prefixes="$PREFIXES" --moe.adapter.threads="$THREADS" \
      --moe.adapter.kv-layout=per-sequence --moe.adapter.flash-attention=off --moe.adapter.kv-cache-type=f32
    runs+=("$((PORT + 3))|decode loop ($n lanes), batch-invariant kernels" "$((PORT + 2))|decode loop (8 lanes), 4 plain + 4 scmoe|--arms|none:4,scmoe:4"
           "$((PORT + 4))|decode loop (8 lanes), KV stream per sequence, 4 plain + 4 scmoe|--arms|none:4,scmoe:4"
           "$((PORT + 5))|decode loop ($n lanes), KV stream per sequence, batch-invariant kernels"
           "$((PORT + 5))|decode loop (8 lanes), KV stream per sequence, batch-invariant kernels, 4 plain + 4 scmoe|--arms|none:4,scmoe:4")
  fi
  for round in $(seq $((1 - WARMUP)) "$ROUNDS"); do
    order=("${runs[@]}")
    if ((round % 2 == 0)); then # even rounds: the last configuration first
      order=(); for ((i = ${#runs[@]} - 1; i >= 0; i--)); do order+=("${runs[i]}"); done
    fi
    for run in "${order[@]}"; do
      IFS='|' read -r -a f <<<"$run"
      load "${f[0]}" "${f[1]}" "$n" "$round" "${f[@]:2}"
    done
  done
  stop_servers
done

"$JAVA" -cp "$BENCH_CP" dev.moeadapter.bench.StreamingReport "$OUT"
