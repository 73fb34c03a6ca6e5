namespace FineTune.Comparison;

/// <summary>One row of the seed's published table (PyTorch, torchvision weights, GPU). Accuracies in percent, as printed there.</summary>
public sealed record SeedResult(string Backbone, TrainingMode Mode, int BestEpoch, double TrainPercent, double ValPercent, double TestPercent);

/// <summary>The seed's results table (README.zh.md, "微调/不微调对比"), kept as a reference to compare against.</summary>
public static class SeedResults
{
    public static readonly IReadOnlyList<SeedResult> All =
    [
        new("resnet18", TrainingMode.Finetune, 23, 99.83, 93.36, 94.01),
        new("resnet18", TrainingMode.Scratch, 42, 99.83, 66.89, 69.63),
        new("resnet34", TrainingMode.Finetune, 29, 99.90, 94.83, 95.44),
        new("resnet34", TrainingMode.Scratch, 36, 99.88, 66.34, 68.80),
        new("resnet50", TrainingMode.Finetune, 28, 99.95, 95.75, 96.36),
        new("resnet50", TrainingMode.Scratch, 58, 99.86, 62.37, 63.46),
        new("resnet101", TrainingMode.Finetune, 27, 99.95, 96.40, 96.27),
        new("resnet101", TrainingMode.Scratch, 65, 99.93, 62.60, 63.87),
    ];

    public static SeedResult? Find(string backbone, TrainingMode mode) =>
        All.FirstOrDefault(r => string.Equals(r.Backbone, backbone, StringComparison.OrdinalIgnoreCase) && r.Mode == mode);
}
