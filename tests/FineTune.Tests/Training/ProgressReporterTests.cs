using FineTune.Logging;
using FineTune.Training;
using Xunit;

namespace FineTune.Tests.Training;

/// <summary>Training's per-batch progress as <see cref="ProgressUpdate"/>s, and the command line's text for them (<see cref="TextProgress"/>).</summary>
public class ProgressReporterTests
{
    [Fact]
    public void Redirected_output_gets_plain_lines_with_loss_accuracy_speed_and_eta()
    {
        var output = new StringWriter();
        var progress = new ProgressReporter(TextWriter.Null, new TextProgress(output, interactive: false));
        progress.StartPhase(ProgressPhase.Training, "Epoch 1/3 train", 100);
        for (int b = 1; b <= 100; b++) progress.Step(b, 0.5, 0.25, 40, TimeSpan.FromSeconds(b), b);
        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(10, lines.Length); // about ten per phase, not one per batch
        Assert.DoesNotContain('\r', output.ToString());
        Assert.Equal("Epoch 1/3 train 10/100 loss 0.5000 acc 25.00% 40.0 img/s ETA 1:30", lines[0]);
        Assert.EndsWith("100/100 loss 0.5000 acc 25.00% 40.0 img/s ETA 0:00", lines[^1]);
    }

    [Fact]
    public void A_terminal_gets_a_bar_redrawn_in_place()
    {
        var output = new StringWriter();
        var progress = new ProgressReporter(TextWriter.Null, new TextProgress(output, interactive: true));
        progress.StartPhase(ProgressPhase.Training, "Epoch 1/3 train", 4);
        progress.Step(4, 0.5, 0.25, 40, TimeSpan.FromSeconds(4), 4);
        Assert.StartsWith("\rEpoch 1/3 train [########################] 4/4", output.ToString());
        Assert.EndsWith(Environment.NewLine, output.ToString());
    }

    [Fact]
    public void Every_step_reaches_the_progress_sink_with_its_phase_and_the_time_left()
    {
        var updates = new List<ProgressUpdate>();
        var progress = new ProgressReporter(TextWriter.Null, new Collect(updates));
        progress.StartPhase(ProgressPhase.Features, "Linear probe: features (train)", 4);
        for (int b = 1; b <= 4; b++) progress.Step(b, double.NaN, double.NaN, 10, TimeSpan.FromSeconds(2 * b), b);
        Assert.Equal([1, 2, 3, 4], updates.Select(u => u.Done));
        Assert.All(updates, u => Assert.Equal((ProgressPhase.Features, 4), (u.Phase, u.Total)));
        Assert.Equal(TimeSpan.FromSeconds(6), updates[0].Remaining); // 2 s a batch, 3 batches to go
        Assert.True(updates[^1].Finished);
    }

    sealed class Collect(List<ProgressUpdate> into) : IProgress<ProgressUpdate>
    {
        public void Report(ProgressUpdate value) => into.Add(value);
    }
}
