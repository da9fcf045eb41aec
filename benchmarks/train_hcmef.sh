#!/usr/bin/env bash
# Train every HC-MEF variant of the paper's table with configs/hcmef.toml: same data, seed and
# 4000 updates per trained network (bi-level alternates: 8000 loop steps). Two lanes of one
# thread each (a 2-core machine); two-stage waits for the teacher it distils.
#   EXPOKIT_DATA=../shared/data benchmarks/train_hcmef.sh [RUNS_DIR] [EXPORT_DIR]
# Then: python benchmarks/quality_hcmef.py --weights EXPORT_DIR
set -euo pipefail
runs=${1:-runs}
dest=${2:-src/expokit/models/weights}
train() {  # name, then --set overrides
  local name=$1; shift
  python -m expokit train hcmef -c configs/hcmef.toml -o "$runs/$name" --export "$dest/$name" \
    "$@" > "$runs/$name.log" 2>&1
}
four=(--set loop.steps=4000 --set loop.warmup_steps=100)
mkdir -p "$runs" "$dest"
(
  train hcmef_teacher --set distill.variant=teacher "${four[@]}"
  train hcmef_twostage --set distill.variant=twostage "${four[@]}" \
    --set "distill.teacher=$dest/hcmef_teacher.safetensors"
  train hcmef_concat --set model.mixing=concat
) &
(
  train hcmef
  train hcmef_imageonly --set distill.variant=imageonly "${four[@]}"
  train hcmef_joint --set distill.variant=joint "${four[@]}"
) &
wait
