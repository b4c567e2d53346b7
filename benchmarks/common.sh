# Sourced by the benchmark scripts (run.sh, serving.sh) after they set TAG (their log prefix): where
# things are, and how a script reports. Run from the repository root.
ROOT=$(pwd)
CACHE=${MOE_ADAPTER_CACHE:-$HOME/.cache/moe-adapter}
LLAMA_TAG=v0.5.0                      # must match adapter-core/src/main/native/build-natives.sh
SRC="$CACHE/src/llama.cpp-$LLAMA_TAG"
RESULTS="$ROOT/benchmarks/target/results"
# the generator of the random-weight benchmark models: a changed generator writes new files
GEN_SRC="$ROOT/adapter-core/src/test/java/dev/moeadapter/core/testmodels/RandomModels.java"

say() { echo "[$TAG] $*" >&2; }
die() { echo "[$TAG] ERROR: $*" >&2; exit 1; }

# KIND -> path of the random-weight benchmark model (RandomModels.Spec.olmoeLarge / glm4moeLarge), written once
# with the classpath in $CP
bench_model() {
  local file="$CACHE/bench/random-$1-large-f16-$(sha256sum "$GEN_SRC" | cut -c1-12).gguf"
  if [[ ! -f "$file" ]]; then
    say "writing the benchmark model $file"
    mkdir -p "$CACHE/bench"
    find "$CACHE/bench" -maxdepth 1 -name "random-$1-large-f16-*.gguf" -delete
    "$JAVA" -cp "$CP" dev.moeadapter.bench.GenerateModel "$file" "$1" >&2 || die "could not write the $1 benchmark model"
  fi
  echo "$file"
}

# The engine's natives built from the same llama.cpp source for this CPU through its documented switch
# (build-natives.sh with LLAMA_BUILD=cmake), once; sets NATIVE_DIR (what moe.adapter.native.dir names) and
# NATIVE_BUILD (the CMake tree, where llama.cpp's own tools are built too, so that both run on the very same
# libllama/libggml/libggml-cpu files: check_same_libraries). The flags come after build-natives.sh's own
# (-DGGML_BACKEND_DL=ON -DGGML_CPU_ALL_VARIANTS=ON -DGGML_NATIVE=OFF) and override them: ggml refuses
# GGML_NATIVE=ON together with GGML_BACKEND_DL=ON on x86, so the CPU backend is an ordinary shared library linked
# into libggml. GGML_OPENMP=OFF as in the prebuilt libraries (both use ggml's own thread pool); RPATH $ORIGIN so
# the copied set is self-contained; common + tools configured for llama-bench and llama-server (build-natives.sh
# itself builds only llama and ggml); the CPU key (unused by CMake) gives every CPU its own build directory.
build_native_engine() {
  local cpu_key args
  cpu_key=$( (grep -m1 '^flags' /proc/cpuinfo 2>/dev/null || uname -m) | sha256sum | cut -c1-12)
  args="-DGGML_BACKEND_DL=OFF -DGGML_CPU_ALL_VARIANTS=OFF -DGGML_NATIVE=ON -DGGML_OPENMP=OFF \
-DCMAKE_BUILD_RPATH_USE_ORIGIN=ON -DLLAMA_BUILD_COMMON=ON -DLLAMA_BUILD_TOOLS=ON -DMOE_BENCH_CPU_KEY=$cpu_key${EXTRA_CMAKE_ARGS:+ $EXTRA_CMAKE_ARGS}"
  NATIVE_DIR="$CACHE/bench/native-engine${EXTRA_CMAKE_ARGS:+-$(echo "$EXTRA_CMAKE_ARGS" | sha256sum | cut -c1-8)}/linux-x64"
  mkdir -p "$RESULTS"
  say "building the engine's natives with LLAMA_BUILD=cmake (-march=native) into $NATIVE_DIR; minutes the first time"
  LLAMA_BUILD=cmake LLAMA_CMAKE_ARGS="$args" bash adapter-core/src/main/native/build-natives.sh "$NATIVE_DIR" \
    >"$RESULTS/native-engine-build.log" 2>&1 \
    || { tail -n 20 "$RESULTS/native-engine-build.log" >&2; die "LLAMA_BUILD=cmake natives failed, see $RESULTS/native-engine-build.log"; }
  NATIVE_BUILD=$(sed -n 's/^\[natives\] building llama.cpp .* with CMake (\([^)]*\)).*/\1/p' "$RESULTS/native-engine-build.log")
  [[ -f "$NATIVE_BUILD/CMakeCache.txt" ]] || die "CMake build directory not found in $RESULTS/native-engine-build.log"
}

# The libraries in the CMake tree (what its llama-bench / llama-server load) are the engine's copies.
check_same_libraries() {
  local lib
  for lib in libllama.so.0 libggml.so.0 libggml-base.so.0 libggml-cpu.so.0; do
    [[ "$(sha256sum "$NATIVE_BUILD/bin/$lib" | cut -c1-64) $lib" == "$(grep " $lib\$" "$NATIVE_DIR/natives.txt")" ]] \
      || die "$lib in $NATIVE_BUILD/bin differs from the engine's copy in $NATIVE_DIR (rm $NATIVE_DIR.stamp and rerun)"
  done
}
