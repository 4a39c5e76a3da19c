# A short fuzz run of every parser that reads bytes from the radio (fuzz/fuzz_targets), with
# cargo-fuzz. It runs on the machine's own toolchain with RUSTC_BOOTSTRAP=1 (cargo-fuzz needs the
# sanitizer flags of nightly Rust, and a fresh machine may have no other toolchain and no way to
# fetch one), so the fuzzing always runs. cargo-fuzz and the fuzz build are cached in CAAS_CACHE,
# so only the first run on a machine pays for them. Sourced by scripts/test.
#   fuzz_smoke SECONDS    runs each target for SECONDS

CAAS_CACHE=${CAAS_CACHE:-$HOME/.cache/caas-companion}
CARGO_FUZZ_VERSION=0.13.2

fuzz_smoke() {
  local seconds=$1
  local root=$CAAS_CACHE/cargo-fuzz-$CARGO_FUZZ_VERSION
  if [ ! -x "$root/bin/cargo-fuzz" ]; then
    log "installing cargo-fuzz $CARGO_FUZZ_VERSION (once)"
    cargo install --quiet --locked --root "$root" cargo-fuzz --version "$CARGO_FUZZ_VERSION"
  fi
  local target
  for target in $(sed -n 's/^name = "\(.*\)"$/\1/p' fuzz/Cargo.toml | grep -v '^caas-fuzz$'); do
    echo "fuzzing $target for ${seconds}s"
    RUSTC_BOOTSTRAP=1 PATH="$root/bin:$PATH" cargo fuzz run --target-dir "$CAAS_CACHE/fuzz-target" "$target" -- \
      -max_total_time="$seconds" -print_final_stats=1 2>&1 | grep -E '^(Done|stat::number_of_executed_units)|ERROR|panicked'
    [ "${PIPESTATUS[0]}" -eq 0 ] || { echo "error: fuzz target $target failed" >&2; return 1; }
  done
}
