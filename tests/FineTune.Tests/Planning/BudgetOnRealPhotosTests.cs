using FineTune.Data.Archives;
using FineTune.Logging;
using Xunit;
using Xunit.Abstractions;

namespace FineTune.Tests.Planning;

/// <summary>
/// Issue 20: `train --data_dir` keeps its time budget on real photographs. Ten Caltech-101 classes (every tenth, about
/// 900 photos), a 3-minute budget, from the call to report.html and model.onnx, the kernel check of the planned sizes
/// included (a fresh FINETUNE_HOME has none cached). Its collection runs alone, so no other test takes the cores the
/// budget was planned on.
/// </summary>
[Collection(RestoresKernelPlan.Collection)]
public sealed class BudgetOnRealPhotosTests(ITestOutputHelper output) : RestoresKernelPlan
{
    /// <summary>
    /// The target is 10% at 10 minutes. A 3-minute run keeps the same fixed costs (loading the weights, the ONNX
    /// export, Grad-CAM for the report) in a budget a third as long, and the planner's step times come from a few timed
    /// batches; 15% leaves room for that without letting a plan that ignored the budget pass.
    /// </summary>
    const double Tolerance = 0.15;

    [CaltechArchiveFact]
    public void A_run_on_ten_caltech_classes_ends_within_its_time_budget()
    {
        var root = TestFiles.TempDir("budget-real");
        var (caltech, _, _) = DatasetPreparer.Prepare(CaltechArchiveFactAttribute.Archive!, Path.Combine(root, "caltech-101"));
        var photos = Path.Combine(root, "ten-classes");
        var classes = Directory.GetDirectories(caltech).Where(d => !Path.GetFileName(d).StartsWith("BACKGROUND", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal).Where((_, i) => i % 10 == 0).Take(10).ToList();
        foreach (var dir in classes)
        {
            var target = Directory.CreateDirectory(Path.Combine(photos, Path.GetFileName(dir))).FullName;
            foreach (var file in Directory.GetFiles(dir)) File.Copy(file, Path.Combine(target, Path.GetFileName(file)));
        }
        var budget = TimeSpan.FromMinutes(3);
        FolderRunResult Run(string outputs)
        {
            var log = new StringWriter();
            var run = Experiment.TrainOnFolder(photos, new FolderRunOptions
            {
                TimeBudget = budget, Weights = "bundled", OutputRoot = Path.Combine(root, outputs), Logger = new PlainTextLogger(log),
            });
            output.WriteLine(log.ToString());
            output.WriteLine($"{classes.Count} classes: {run.Elapsed.TotalSeconds:0} s of a {budget.TotalSeconds:0} s budget ({run.Elapsed / budget:P0}); test accuracy {run.Test?.Report.Summary.Accuracy:P2}");
            return run;
        }

        var result = Run("outputs");
        // A wall clock on a shared machine: CI once saw this run's own step timings 1.75 times slower than on the quiet
        // machine (something else held the cores), and the run overshot. One more run, fresh folder, decides; a plan
        // that ignores the budget overshoots both.
        if (result.Elapsed > budget * (1 + Tolerance))
        {
            output.WriteLine($"Over budget ({result.Elapsed}); running once more to tell a loaded machine from a plan that ignores its budget.");
            result = Run("outputs-again");
        }
        Assert.NotNull(result.OnnxPath);
        Assert.NotNull(result.ReportPath);
        Assert.True(result.Elapsed <= budget * (1 + Tolerance), $"the run took {result.Elapsed} for a budget of {budget} (tolerance {Tolerance:P0})");
        Assert.True(result.Test!.Report.Summary.Accuracy > 0.8, "ten distinct Caltech classes from ImageNet features: well above chance, or the run did not train");
    }
}
