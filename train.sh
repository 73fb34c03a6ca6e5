#!/usr/bin/env bash
# The seed's train.sh: train ResNet-18 fine-tuned and from scratch on Caltech-101, one process each, on the CPU.
# Checkpoints, curves and results.json land in outputs/checkpoints/<name>/, TensorBoard logs in outputs/logs/<name>/.
# Extra arguments go to every `finetune train` (e.g. --dry-run). FINETUNE overrides the program to run.
set -euo pipefail
cd "$(dirname "$0")"

if [[ -n "${FINETUNE:-}" ]]; then read -r -a finetune <<< "$FINETUNE"
elif command -v finetune > /dev/null; then finetune=(finetune)
else finetune=(dotnet run --project src/FineTune.Cli -c Release --)
fi

for name in resnet18_finetune resnet18_scratch; do
    echo "== training $name"
    "${finetune[@]}" train \
        --config "configs/$name.yaml" \
        --experiment_name "$name" \
        "$@"
done
