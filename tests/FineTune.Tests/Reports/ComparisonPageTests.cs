using System.Text.RegularExpressions;
using FineTune.Comparison;
using FineTune.Evaluation;
using FineTune.Reports;
using FineTune.Tests.Training;
using Xunit;
using Xunit.Abstractions;

namespace FineTune.Tests.Reports;

/// <summary>compare.html, as `finetune compare` writes it: the runs side by side on one self-contained page.</summary>
public class ComparisonPageTests(ITestOutputHelper output)
{
    static RunResult Run(string name, string backbone, TrainingMode mode, double[] val, double? test) => RunResult.FromHistory(name, backbone, mode,
        val.Select((v, i) => new EpochRecord(i + 1, 1.0 / (i + 1), Math.Min(1, v + 0.1), 1.2 / (i + 1), v)).ToList(), 75, test);

    /// <summary>
    /// Three finished runs under outputs/checkpoints (ResNet-18 fine-tuned and from scratch, ResNet-50 fine-tuned only),
    /// the first with a report.html where `finetune test` puts it; then `finetune compare --out table`. Returns the page's path.
    /// </summary>
    static (string Dir, string Page, string Report) Compare()
    {
        var dir = Tiny.TempFolder();
        var checkpoints = Path.Combine(dir, "outputs", "checkpoints");
        ResultsFile.Write(Path.Combine(checkpoints, "r18_ft"), Run("r18_ft", "resnet18", TrainingMode.Finetune, [0.80, 0.9336, 0.92], 0.9401));
        ResultsFile.Write(Path.Combine(checkpoints, "r18_sc"), Run("r18_sc", "resnet18", TrainingMode.Scratch, [0.30, 0.50, 0.6689], 0.6869));
        ResultsFile.Write(Path.Combine(checkpoints, "r50_ft"), Run("r50_ft", "resnet50", TrainingMode.Finetune, [0.90, 0.95], null));
        // The page only links it: any file at the place `finetune test --output_dir outputs/test_reports` writes.
        var report = Path.Combine(dir, "outputs", "test_reports", "r18_ft", HtmlReport.FileName);
        Directory.CreateDirectory(Path.GetDirectoryName(report)!);
        File.WriteAllText(report, "<!DOCTYPE html><title>r18_ft</title>");

        var result = FinetuneProgram.Run(dir, "compare", "--outputs", "outputs", "--out", "table").Succeeded();
        Assert.Contains(ComparisonPage.FileName, result.Out);
        return (dir, Path.Combine(dir, "table", ComparisonPage.FileName), report);
    }

    [Fact]
    public void Compare_writes_one_self_contained_page_with_a_row_per_run_the_gap_per_backbone_and_links_to_reports()
    {
        var (_, page, report) = Compare();
        var html = File.ReadAllText(page);

        var rows = Regex.Matches(html, @"<tr class=""run (\w+)""><td>([^<]*)</td><td class=""name"">([^<]*)</td>").Select(m => (m.Groups[1].Value, m.Groups[2].Value, m.Groups[3].Value)).ToList();
        Assert.Equal(
            [("finetune", "ResNet-18 (pretrained, fine-tuned)", "r18_ft"), ("scratch", "ResNet-18 (random init, from scratch)", "r18_sc"), ("finetune", "ResNet-50 (pretrained, fine-tuned)", "r50_ft")],
            rows);
        // One link, relative to the page, to the one run that has a report; it leads to that file.
        var link = Assert.Single(Regex.Matches(html, @"<a class=""report"" href=""([^""]*)""")).Groups[1].Value;
        Assert.Equal("../outputs/test_reports/r18_ft/report.html", link);
        Assert.Equal(Path.GetFullPath(report), Path.GetFullPath(Path.Combine(Path.GetDirectoryName(page)!, link)));
        Assert.Equal(2, Regex.Matches(html, @"<td class=""unknown"">none</td>").Count);

        var gap = Assert.Single(Regex.Matches(html, @"<li class=""gap"">([^<]*)</li>")).Groups[1].Value;
        Assert.Equal("ResNet-18: pretraining helped by 25.32 points of test accuracy (fine-tuned 94.01% vs from scratch 68.69%).", gap);

        // Self-contained: nothing from the network, the chart inline.
        Assert.DoesNotMatch(new Regex(@"(?:src|href)\s*=\s*[""']?\s*(?:https?:)?//", RegexOptions.IgnoreCase), html);
        var images = Regex.Matches(html, @"<img [^>]*src=""([^""]*)""").Select(m => m.Groups[1].Value).ToList();
        Assert.StartsWith("data:image/png;base64,", Assert.Single(images));
    }

    [Fact]
    public void The_gap_falls_back_to_validation_accuracy_unless_every_run_was_tested_and_says_when_pretraining_hurt()
    {
        var runs = new[]
        {
            Run("ft", "resnet34", TrainingMode.Finetune, [0.60], 0.61),
            Run("sc_a", "resnet34", TrainingMode.Scratch, [0.70], null),
            Run("sc_b", "resnet34", TrainingMode.Scratch, [0.80], 0.79),
        };
        var gap = Assert.Single(PretrainingGap.For(runs));
        Assert.Equal("ResNet-34: pretraining hurt by 15.00 points of validation accuracy (fine-tuned 60.00% vs from scratch 75.00%, mean of 2 runs).", gap.ToString());
    }

    [ChromiumFact]
    public void The_comparison_page_loads_in_chromium_without_console_errors()
    {
        var (_, page, _) = Compare();

        var dom = Chromium.DumpDom(page);
        output.WriteLine(dom.Err);
        Assert.True(dom.Code == 0, $"chromium --dump-dom failed ({dom.Code}): {dom.Err}");
        Assert.Empty(Chromium.ConsoleLines(dom));
        Assert.Matches(new Regex(@"<body[^>]*\bdata-ready=""1"""), dom.Out);
        Assert.Equal(3, Regex.Matches(dom.Out, @"<tr class=""run ").Count);
    }
}
