using FineTune.Comparison;
using FineTune.Evaluation;
using FineTune.Kernels;
using FineTune.Models;
using FineTune.Native;
using FineTune.Reports;
using FineTune.Training.Checkpoints;
using static TorchSharp.torch;

namespace FineTune;

public static partial class Experiment
{
    /// <summary>
    /// What a test pass saw: its predictions, the sizes of the other splits and where each sample's image file is (null:
    /// none); <paramref name="NoImageFiles"/> says why there are no files at all (synthetic data).
    /// </summary>
    sealed record TestPass(List<SamplePrediction> Samples, int TrainImages, int ValImages, string Data, Func<string, string?> ImageFile,
        string? NoImageFiles = null);

    static RunCard RunCardFor(CheckpointFile checkpoint, TestPass pass, KernelPlan plan, PrecisionChoice precision, Device device, TimeSpan wall)
    {
        var info = checkpoint.Info;
        return new RunCard
        {
            Experiment = "",
            Checkpoint = checkpoint.Path,
            Model = $"{info.Backbone}, epoch {info.Epoch} (best {info.BestEpoch}), {info.NumClasses} classes",
            Weights = info.StartingWeights,
            Data = pass.Data,
            SplitHash = info.SplitManifestHash is { Length: > 0 } hash ? hash[..Math.Min(12, hash.Length)] : null,
            Recipe = RunRecipe.Of(info),
            TrainImages = pass.TrainImages,
            ValImages = pass.ValImages,
            TestImages = pass.Samples.Count,
            Precision = $"{precision.Name} ({precision.Reason})",
            KernelPlan = plan.Summary().Replace("Kernels: ", "", StringComparison.Ordinal), // the card labels the line itself
            Device = device.ToString(),
            Cpu = CpuInfo.Current.ModelName,
            WallSeconds = wall.TotalSeconds,
        };
    }

    /// <summary>
    /// Writes report.html beside the other report files and returns its path. The curves come from results.json beside
    /// the checkpoint, the whole run's epochs (the best checkpoint's own history stops at its epoch), or else from the
    /// checkpoint's history.
    /// </summary>
    static string WriteHtmlReport(string reportDir, TestReport report, RunCard card, CheckpointFile checkpoint, Func<string, string?> imageFile,
        GradCamGallery heatmaps)
    {
        IReadOnlyList<EpochRecord> history = checkpoint.Info.History;
        var results = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(checkpoint.Path))!, ResultsFile.FileName);
        if (File.Exists(results) && ResultsFile.Read(results).History is { Count: > 0 } run) history = run;
        var path = Path.Combine(reportDir, HtmlReport.FileName);
        HtmlReport.Save(path, report, card, history, imageFile, heatmaps: heatmaps);
        return path;
    }
}
