#!/usr/bin/env bash
# Times delve and PyTorch on the same 30-layer training step, alternating, in one sitting:
#   bench/side_by_side.sh [rounds] [flags]   (default 3 rounds; needs `pip install torch`)
# Flags go to both sides, e.g. `bench/side_by_side.sh 5 --width 64,128,256 --batch-size 64`
# for the paper's widths. Prints one JSON line per measurement (with the CPU model and
# kernel path), then the medians; with SAVE=bench/results/NAME.jsonl the JSON lines are kept
# there (README's speed tables are made from such files, and `tests/readme_speed.rs`
# checks that they still are).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
# The defaults, each unless the flags after the rounds give it (clap takes a flag once).
args=("${@:2}")
for default in "--depth 30" "--batch-size 128" "--threads 2"; do
  flag=${default% *}
  if [[ " ${args[*]} " != *" $flag "* && " ${args[*]} " != *" $flag="* ]]; then
    args=($default "${args[@]}")
  fi
done
cargo build -q -p experiments
cargo build -q --release -p experiments
out=$(mktemp)
for _ in $(seq "$rounds"); do
  target/debug/experiments bench "${args[@]}" --json | sed 's/"delve"/"delve (dev profile)"/' | tee -a "$out"
  target/release/experiments bench "${args[@]}" --json | sed 's/"delve"/"delve (release)"/' | tee -a "$out"
  python3 bench/pytorch_reference.py "${args[@]}" 2>/dev/null | tail -1 | tee -a "$out"
done
if [[ -n "${SAVE:-}" ]]; then
  mkdir -p "$(dirname "$SAVE")"
  grep '^{' "$out" > "$SAVE"
fi
python3 - "$out" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
for fw in dict.fromkeys(r["framework"] for r in rows):
    rs = [r for r in rows if r["framework"] == fw]
    med = lambda k: statistics.median(r[k] for r in rs)
    print(f"{fw:28} train {med('train_images_per_sec'):6.1f} img/s  infer {med('infer_images_per_sec'):6.1f} img/s  "
          f"{med('gflops'):5.1f} GFLOP/s  peak RSS {med('peak_rss_mib'):5.0f} MiB  (median of {len(rs)})")
# Per round: delve's dev-profile training rate over PyTorch's.
dev = [r for r in rows if r["framework"] == "delve (dev profile)"]
torch = [r for r in rows if r["framework"].startswith("pytorch")]
ratios = [d["train_images_per_sec"] / t["train_images_per_sec"] for d, t in zip(dev, torch)]
if ratios:
    ahead = sum(r > 1 for r in ratios)
    print(f"dev profile / PyTorch, training: median ratio {statistics.median(ratios):.2f}, "
          f"delve ahead in {ahead} of {len(ratios)} rounds")
PY
