# Sourced by train.sh and test.sh (from the repository root): sets the array `finetune` to the program to run.
# FINETUNE wins (it may carry arguments, e.g. "dotnet path/finetune.dll"), then `finetune` on PATH (the installed
# tool), else the CLI built from this checkout with `dotnet run`.
if [[ -n "${FINETUNE:-}" ]]; then read -r -a finetune <<< "$FINETUNE"
elif command -v finetune > /dev/null; then finetune=(finetune)
else finetune=(dotnet run --project src/FineTune.Cli -c Release --)
fi
