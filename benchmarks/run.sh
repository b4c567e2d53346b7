#!/usr/bin/env bash
# Engine throughput benchmark (docs/benchmarks.md). Run from the repository root as
#   ./moe bench [--threads N] [--prompt N] [--gen N] [--reps N] [--rounds N] [--model FILE.gguf] [--no-jllama]
#               [--no-sigmoid-bias] [--strict]
# which sets JAVA_HOME to a JDK 25. Steps:
#   1. builds adapter-core (prebuilt llama.cpp natives, test-jar) and this module with Maven (-Pbench)
#   2. builds the engine's natives from the same llama.cpp source for this CPU (LLAMA_BUILD=cmake,
#      -march=native) and llama-bench in that same build tree, once
#   3. builds llama-bench against the engine's prebuilt libraries, once
#   4. writes the random-weight benchmark models into the cache, once: OLMoE-style, and GLM-4.5-style
#      (sigmoid gating with selection bias and expert groups)
#   5. runs, --rounds times with --reps repetitions each: llama-bench (native), the engine on the native
#      libraries (no plan, edits on every MoE layer), the same two engine rows on the GLM-4.5-style model,
#      llama-bench (prebuilt libs), the engine on the prebuilt libraries, each in a process of its own;
#      then java-llama.cpp once (reps x rounds); prints one table (samples pooled over rounds) with ratios
#      to both llama-bench builds, and the GLM-4.5-style model's edits / no-plan ratios
# Results: benchmarks/target/results/latest.json (+ every step's JSON and log next to it).
set -euo pipefail
shopt -s inherit_errexit
cd "$(dirname "$0")/.."
TAG=bench
source benchmarks/common.sh

THREADS=2 PROMPT=512 GEN=128 REPS=4 ROUNDS=4 MODEL="" JLLAMA=1 BIAS=1 STRICT=()
while (($#)); do
  case "$1" in
    --threads) THREADS=${2:?}; shift 2 ;;
    --prompt)  PROMPT=${2:?}; shift 2 ;;
    --gen)     GEN=${2:?}; shift 2 ;;
    --reps)    REPS=${2:?}; shift 2 ;;
    --rounds)  ROUNDS=${2:?}; shift 2 ;;
    --model)   MODEL=${2:?}; shift 2 ;;
    --no-jllama) JLLAMA=0; shift ;;
    --no-sigmoid-bias) BIAS=0; shift ;;
    --strict)  STRICT=(--strict); shift ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
for v in "$THREADS" "$PROMPT" "$GEN" "$REPS" "$ROUNDS"; do
  [[ "$v" =~ ^[1-9][0-9]*$ ]] || die "--threads, --prompt, --gen, --reps and --rounds take positive integers, got '$v'"
done
((THREADS <= $(nproc))) || say "warning: $THREADS threads on $(nproc) CPUs"

[[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]] || die "JAVA_HOME is not set to a JDK 25; run this through ./moe bench"
JAVA="$JAVA_HOME/bin/java"
for tool in cmake g++ sha256sum; do
  command -v "$tool" >/dev/null 2>&1 || die "'$tool' is required to build llama.cpp (apt-get install cmake g++)"
done

# 1. Maven: adapter-core (runs build-natives.sh, which also caches the llama.cpp source) + benchmarks.
#    -Dllama.build=prebuilt: the packaged natives are the prebuilt npm libraries, whatever the Maven settings say.
mkdir -p "$RESULTS"
rm -f "$RESULTS"/*.json "$RESULTS"/*.log
say "building adapter-core and benchmarks (Maven, -Pbench)"
./mvnw -q -B -ntp -Pbench -Dllama.build=prebuilt -DskipTests package -pl benchmarks -am >"$RESULTS/maven.log" 2>&1 \
  || { tail -n 40 "$RESULTS/maven.log" >&2; die "Maven build failed, see $RESULTS/maven.log"; }
CP="$ROOT/benchmarks/target/classes:$(cat "$ROOT/benchmarks/target/classpath.txt")"
[[ -f "$SRC/.done" ]] || die "llama.cpp source not found at $SRC (adapter-core's build-natives.sh should have unpacked it)"

# 2. The headline pair, built once from the same llama.cpp source for this CPU (build_native_engine in
#    common.sh): the engine's natives and llama-bench in the same CMake tree, so both run on the very same
#    libllama/libggml/libggml-cpu files (checked below by sha256).
build_native_engine
LB="$NATIVE_BUILD/bin/llama-bench"
if [[ ! -x "$LB" ]]; then
  say "building llama-bench in $NATIVE_BUILD; minutes, once"
  cmake --build "$NATIVE_BUILD" --config Release --target llama-bench -j "$(nproc)" >"$NATIVE_BUILD.llama-bench.log" 2>&1 \
    || die "building llama-bench failed, see $NATIVE_BUILD.llama-bench.log"
fi
check_same_libraries

# 3. The second pair: the same llama-bench source linked against the engine's packaged prebuilt llama.cpp
#    libraries (the npm bundle, identified by the sha256 of libllama in the engine's natives.txt).
#    Optional: skipped with a warning if it cannot be built.
LBP=""
NATIVES_TXT="$ROOT/adapter-core/target/native/linux-x64/natives.txt"
build_prebuilt_bench() {
  local want dir d key out
  want=$(awk '$2 ~ /^libllama\.v.*\.so$/ {print $1}' "$NATIVES_TXT" 2>/dev/null) || return 1
  [[ -n "$want" ]] || { say "warning: no prebuilt libllama in $NATIVES_TXT"; return 1; }
  dir=""
  for d in "$CACHE"/unpacked/node-llama-cpp-linux-x64-*/package/bins/linux-x64; do
    compgen -G "$d/libllama.v*.so" >/dev/null || continue
    [[ "$(sha256sum "$d"/libllama.v*.so | cut -c1-64)" == "$want" && -f "$d/libllama-common.so" ]] && dir=$d && break
  done
  [[ -n "$dir" ]] || { say "warning: the engine's prebuilt libraries (with libllama-common.so) were not found under $CACHE/unpacked"; return 1; }
  key=$(echo "$want $(git -C "$SRC" rev-parse HEAD 2>/dev/null)" | sha256sum | cut -c1-12)
  out="$CACHE/build/llama-bench-prebuilt-$key"
  if [[ ! -x "$out/llama-bench" ]]; then
    say "building llama-bench against the engine's prebuilt libraries ($dir)"
    mkdir -p "$out"
    g++ -O2 -std=c++17 -I"$SRC/include" -I"$SRC/ggml/include" -I"$SRC/common" -I"$SRC/vendor" -I"$SRC/tools/llama-bench" \
      "$SRC/tools/llama-bench/llama-bench.cpp" "$SRC/tools/llama-bench/main.cpp" -o "$out/llama-bench.part" \
      -L"$dir" -l:libllama-common.so -l:"$(basename "$dir"/libllama.v*.so)" -l:"$(basename "$dir"/libggml.v*.so)" \
      -l:libggml-base.so -Wl,-rpath,"$dir" -lpthread >"$out.log" 2>&1 \
      || { say "warning: could not build it, see $out.log"; return 1; }
    # ggml loads its CPU variants from the executable's directory
    ln -sf "$dir"/libggml-cpu-*.so "$out/"
    mv "$out/llama-bench.part" "$out/llama-bench"
  fi
  LBP="$out/llama-bench"
}
build_prebuilt_bench || say "warning: skipping the llama-bench-on-prebuilt-libraries row"

# 4. the benchmark models: random weights, F16 MoE, never committed (bench_model in common.sh).
[[ -n "$MODEL" ]] || MODEL=$(bench_model olmoe)
[[ -f "$MODEL" ]] || die "model not found: $MODEL"
BIAS_MODEL=""
((BIAS)) && BIAS_MODEL=$(bench_model glm4moe)

# 5. measurements, one process each, each engine run right after the llama-bench of its pair, in rounds so
#    that the machine's slow drifts fall on every row alike; then java-llama.cpp once, then the report
COMMON=(--model "$MODEL" --threads "$THREADS" --prompt "$PROMPT" --gen "$GEN" --reps "$REPS")
REPORT=(--rounds "$ROUNDS")
say "pp$PROMPT, tg$GEN, $THREADS threads, $ROUNDS rounds x $REPS repetitions per row"
llama_bench() { # NAME BINARY ROUND
  local out="$RESULTS/$1-r$3"
  "$2" -m "$MODEL" -t "$THREADS" -p "$PROMPT" -n "$GEN" -r "$REPS" -o json >"$out.json" 2>"$out.log" \
    || { tail -n 20 "$out.log" >&2; die "$1 failed, see $out.log"; }
  REPORT+=(--"$1" "$out.json")
}
engine() { # ROWS NATIVES ROUND MODEL [JVM options]; even rounds measure the edits first (the first row of a JVM runs slower)
  local out="$RESULTS/$1-$2-r$3" order=() report=--engine-$2
  [[ $1 == engine ]] || report=--engine-$1
  (($3 % 2)) || order=(--edits-first)
  "$JAVA" --enable-native-access=ALL-UNNAMED "${@:5}" -cp "$CP" dev.moeadapter.bench.EngineBenchmark engine --natives "$2" \
    --rows "$1" "${order[@]}" "${COMMON[@]}" --model "$4" --out "$out.json" >"$out.log" 2>&1 \
    || { tail -n 30 "$out.log" >&2; die "the engine ($1) failed on the $2 libraries, see $out.log"; }
  REPORT+=("$report" "$out.json")
}
for ((r = 1; r <= ROUNDS; r++)); do
  say "round $r/$ROUNDS: llama-bench (native), engine on the native libraries (both models), llama-bench (prebuilt libs), engine on them"
  llama_bench llama-bench-native "$LB" "$r"
  engine engine native "$r" "$MODEL" -Dmoe.adapter.native.dir="$NATIVE_DIR"
  [[ -z "$BIAS_MODEL" ]] || engine sigmoid-bias native "$r" "$BIAS_MODEL" -Dmoe.adapter.native.dir="$NATIVE_DIR"
  [[ -z "$LBP" ]] || llama_bench llama-bench-prebuilt "$LBP" "$r"
  engine engine prebuilt "$r" "$MODEL"
done
if ((JLLAMA)); then
  say "java-llama.cpp: $((REPS * ROUNDS)) repetitions"
  timeout 600 "$JAVA" --enable-native-access=ALL-UNNAMED -cp "$CP" dev.moeadapter.bench.EngineBenchmark jllama "${COMMON[@]}" \
    --reps $((REPS * ROUNDS)) --out "$RESULTS/jllama.json" >"$RESULTS/jllama.log" 2>&1 \
    || say "warning: java-llama.cpp exited with code $?"
  REPORT+=(--jllama "$RESULTS/jllama.json" --jllama-log "$RESULTS/jllama.log")
fi
rc=0
"$JAVA" -cp "$CP" dev.moeadapter.bench.EngineBenchmark report "${COMMON[@]}" --out "$RESULTS/latest.json" \
  "${REPORT[@]}" "${STRICT[@]}" || rc=$?
case $rc in
  0) ;;
  4) die "throughput targets missed (--strict); see the table above" ;;
  *) die "the report failed (exit $rc)" ;;
esac
