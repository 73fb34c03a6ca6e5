#!/usr/bin/env bash
# The seed's train.sh: train ResNet-18 fine-tuned and from scratch on Caltech-101, one process each, on the CPU.
# Checkpoints, curves and results.json land in outputs/checkpoints/<name>/, TensorBoard logs in outputs/logs/<name>/.
# Extra arguments go to every `finetune train` (e.g. --dry-run). FINETUNE overrides the program to run.
set -euo pipefail
cd "$(dirname "$0")"

source tools/finetune-program.sh

for name in resnet18_finetune resnet18_scratch; do
    echo "== training $name"
    "${finetune[@]}" train \
        --config "configs/$name.yaml" \
        --experiment_name "$name" \
        "$@"
done
