#!/usr/bin/env bash
# Engine throughput benchmark (docs/benchmarks.md). Run from the repository root as
#   ./moe bench [--threads N] [--prompt N] [--gen N] [--reps N] [--model FILE.gguf] [--no-jllama] [--strict]
# which sets JAVA_HOME to a JDK 25. Steps:
#   1. builds adapter-core (natives, test-jar) and this module with Maven (-Pbench)
#   2. builds llama.cpp's llama-bench from the engine's llama.cpp source (CMake, -march=native), once
#   3. writes the random-weight benchmark model into the cache, once
#   4. runs llama-bench, llama-bench linked against the engine's prebuilt libraries (diagnostic), then
#      the Java benchmark (engine no plan, engine with edits on every MoE layer, java-llama.cpp), and
#      prints one table with ratios to both llama-bench runs
# Results: benchmarks/target/results/latest.json (+ llama-bench.json and logs next to it).
set -euo pipefail
shopt -s inherit_errexit
cd "$(dirname "$0")/.."
ROOT=$(pwd)
CACHE=${MOE_ADAPTER_CACHE:-$HOME/.cache/moe-adapter}
LLAMA_TAG=v0.5.0                      # must match adapter-core/src/main/native/build-natives.sh
SRC="$CACHE/src/llama.cpp-$LLAMA_TAG"
RESULTS="$ROOT/benchmarks/target/results"

say() { echo "[bench] $*" >&2; }
die() { echo "[bench] ERROR: $*" >&2; exit 1; }

THREADS=2 PROMPT=512 GEN=128 REPS=3 MODEL="" JAVA_ARGS=()
while (($#)); do
  case "$1" in
    --threads) THREADS=${2:?}; shift 2 ;;
    --prompt)  PROMPT=${2:?}; shift 2 ;;
    --gen)     GEN=${2:?}; shift 2 ;;
    --reps)    REPS=${2:?}; shift 2 ;;
    --model)   MODEL=${2:?}; shift 2 ;;
    --no-jllama|--strict) JAVA_ARGS+=("$1"); shift ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
for v in "$THREADS" "$PROMPT" "$GEN" "$REPS"; do
  [[ "$v" =~ ^[1-9][0-9]*$ ]] || die "--threads, --prompt, --gen and --reps take positive integers, got '$v'"
done
((THREADS <= $(nproc))) || say "warning: $THREADS threads on $(nproc) CPUs"

[[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]] || die "JAVA_HOME is not set to a JDK 25; run this through ./moe bench"
JAVA="$JAVA_HOME/bin/java"
for tool in cmake g++ sha256sum; do
  command -v "$tool" >/dev/null 2>&1 || die "'$tool' is required to build llama-bench (apt-get install cmake g++)"
done

# 1. Maven: adapter-core (runs build-natives.sh, which also caches the llama.cpp source) + benchmarks
mkdir -p "$RESULTS"
say "building adapter-core and benchmarks (Maven, -Pbench)"
./mvnw -q -B -ntp -Pbench -DskipTests package -pl benchmarks -am >"$RESULTS/maven.log" 2>&1 \
  || { tail -n 40 "$RESULTS/maven.log" >&2; die "Maven build failed, see $RESULTS/maven.log"; }
CP="$ROOT/benchmarks/target/classes:$(cat "$ROOT/benchmarks/target/classpath.txt")"
[[ -f "$SRC/.done" ]] || die "llama.cpp source not found at $SRC (adapter-core's build-natives.sh should have unpacked it)"

# 2. llama-bench from the same llama.cpp source. -DGGML_NATIVE=ON: compiled for this CPU (the prebuilt
#    engine libraries load the best of their CPU variants at run time); -DGGML_OPENMP=OFF: the prebuilt
#    libraries have no OpenMP either, so both use ggml's own thread pool. Static, so llama-bench cannot
#    pick up other libllama/libggml builds. Keyed by source commit, flags and this CPU's feature flags.
CMAKE_ARGS=(-DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF -DGGML_NATIVE=ON -DGGML_OPENMP=OFF -DLLAMA_CURL=OFF
            -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_BUILD_TOOLS=ON)
SRC_REV=$(git -C "$SRC" rev-parse HEAD 2>/dev/null || echo unknown)
CPU_FLAGS=$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null || uname -m)
KEY=$(echo "$SRC_REV ${CMAKE_ARGS[*]} $CPU_FLAGS" | sha256sum | cut -c1-12)
LB_BUILD="$CACHE/build/llama-bench-$KEY"
LB="$LB_BUILD/bin/llama-bench"
if [[ ! -x "$LB" ]]; then
  say "building llama-bench ($LLAMA_TAG, -march=native) into $LB_BUILD; takes a few minutes, once"
  GEN_ARGS=(); command -v ninja >/dev/null 2>&1 && GEN_ARGS=(-G Ninja)
  mkdir -p "$CACHE/build"
  cmake -S "$SRC" -B "$LB_BUILD" "${GEN_ARGS[@]}" "${CMAKE_ARGS[@]}" >"$LB_BUILD.log" 2>&1 \
    || die "cmake configure failed, see $LB_BUILD.log"
  cmake --build "$LB_BUILD" --target llama-bench -j "$(nproc)" >>"$LB_BUILD.log" 2>&1 \
    || die "building llama-bench failed, see $LB_BUILD.log"
  [[ -x "$LB" ]] || die "llama-bench not found at $LB after the build, see $LB_BUILD.log"
fi

# 2b. Diagnostic anchor: the same llama-bench source linked against the engine's own prebuilt llama.cpp
#     libraries (the npm bundle, identified by the sha256 of libllama in the engine's natives.txt), so
#     compile-flag differences between the native build and the prebuilt CPU variants can be told apart
#     from the engine's own overhead. Optional: skipped with a warning if it cannot be built.
LBP=""
NATIVES_TXT="$ROOT/adapter-core/target/native/linux-x64/natives.txt"
build_prebuilt_bench() {
  local want dir d key out
  want=$(awk '$2 ~ /^libllama\.v.*\.so$/ {print $1}' "$NATIVES_TXT" 2>/dev/null) || return 1
  [[ -n "$want" ]] || { say "warning: no prebuilt libllama in $NATIVES_TXT (engine not built with LLAMA_BUILD=prebuilt?)"; return 1; }
  dir=""
  for d in "$CACHE"/unpacked/node-llama-cpp-linux-x64-*/package/bins/linux-x64; do
    compgen -G "$d/libllama.v*.so" >/dev/null || continue
    [[ "$(sha256sum "$d"/libllama.v*.so | cut -c1-64)" == "$want" && -f "$d/libllama-common.so" ]] && dir=$d && break
  done
  [[ -n "$dir" ]] || { say "warning: the engine's prebuilt libraries (with libllama-common.so) were not found under $CACHE/unpacked"; return 1; }
  key=$(echo "$want $SRC_REV" | sha256sum | cut -c1-12)
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

# 3. the benchmark model: random weights, OLMoE-style F16 MoE (RandomModels.writeLarge), never committed.
#    Named after the generator's source, so a changed generator writes a new file.
if [[ -z "$MODEL" ]]; then
  GEN_SRC="$ROOT/adapter-core/src/test/java/dev/moeadapter/core/testmodels/RandomModels.java"
  MODEL="$CACHE/bench/random-olmoe-large-f16-$(sha256sum "$GEN_SRC" | cut -c1-12).gguf"
  if [[ ! -f "$MODEL" ]]; then
    say "writing the benchmark model $MODEL"
    mkdir -p "$CACHE/bench"
    find "$CACHE/bench" -maxdepth 1 -name 'random-olmoe-large-f16-*.gguf' -delete
    "$JAVA" -cp "$CP" dev.moeadapter.bench.GenerateModel "$MODEL" || die "could not write the benchmark model"
  fi
fi
[[ -f "$MODEL" ]] || die "model not found: $MODEL"

# 4. llama-bench, then the Java benchmark (which reads llama-bench's JSON and prints the combined table)
say "llama-bench: pp$PROMPT, tg$GEN, $THREADS threads, $REPS repetitions"
"$LB" -m "$MODEL" -t "$THREADS" -p "$PROMPT" -n "$GEN" -r "$REPS" -o json \
  >"$RESULTS/llama-bench.json" 2>"$RESULTS/llama-bench.log" \
  || { tail -n 20 "$RESULTS/llama-bench.log" >&2; die "llama-bench failed, see $RESULTS/llama-bench.log"; }

LBP_ARGS=()
if [[ -n "$LBP" ]]; then
  say "llama-bench on the engine's prebuilt libraries: same parameters"
  if "$LBP" -m "$MODEL" -t "$THREADS" -p "$PROMPT" -n "$GEN" -r "$REPS" -o json \
       >"$RESULTS/llama-bench-prebuilt.json" 2>"$RESULTS/llama-bench-prebuilt.log"; then
    LBP_ARGS=(--llama-bench-prebuilt-json "$RESULTS/llama-bench-prebuilt.json")
  else
    say "warning: llama-bench on the prebuilt libraries failed, see $RESULTS/llama-bench-prebuilt.log; row skipped"
  fi
fi

say "engine and java-llama.cpp: same model, threads, pp$PROMPT, tg$GEN, $REPS repetitions"
rc=0
"$JAVA" --enable-native-access=ALL-UNNAMED -cp "$CP" dev.moeadapter.bench.EngineBenchmark \
  --model "$MODEL" --threads "$THREADS" --prompt "$PROMPT" --gen "$GEN" --reps "$REPS" \
  --llama-bench-json "$RESULTS/llama-bench.json" --out "$RESULTS/latest.json" "${LBP_ARGS[@]}" "${JAVA_ARGS[@]}" || rc=$?
case $rc in
  0) ;;
  4) die "throughput targets missed (--strict); see the table above" ;;
  *) die "the Java benchmark failed (exit $rc); see the messages above and $RESULTS" ;;
esac
