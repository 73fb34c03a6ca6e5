#!/usr/bin/env bash
# The seed's test.sh: test the best checkpoints of train.sh's two runs on their saved test split, then print the
# comparison table. Reports go to outputs/test_reports/<name>/, the table to outputs/compare/.
# FINETUNE overrides the program to run.
set -euo pipefail
cd "$(dirname "$0")"

source tools/finetune-program.sh

for name in resnet18_finetune resnet18_scratch; do
    checkpoint="outputs/checkpoints/$name/checkpoint_best.ckpt"
    if [[ ! -f "$checkpoint" ]]; then
        echo "test.sh: $checkpoint not found; run ./train.sh first." >&2
        exit 1
    fi
    echo "== testing $name"
    "${finetune[@]}" test \
        --config "configs/$name.yaml" \
        --model_path "$checkpoint" \
        --experiment_name "$name" \
        --output_dir outputs/test_reports
done

"${finetune[@]}" compare --outputs outputs --out outputs/compare
