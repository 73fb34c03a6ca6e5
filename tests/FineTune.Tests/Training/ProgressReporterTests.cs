using FineTune.Training;
using Xunit;

namespace FineTune.Tests.Training;

public class ProgressReporterTests
{
    [Fact]
    public void Redirected_output_gets_plain_lines_with_loss_accuracy_speed_and_eta()
    {
        var output = new StringWriter();
        var progress = new ProgressReporter(output, interactive: false);
        progress.StartPhase("Epoch 1/3 train", 100);
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
        var progress = new ProgressReporter(output, interactive: true);
        progress.StartPhase("Epoch 1/3 train", 4);
        progress.Step(4, 0.5, 0.25, 40, TimeSpan.FromSeconds(4), 4);
        Assert.StartsWith("\rEpoch 1/3 train [########################] 4/4", output.ToString());
        Assert.EndsWith(Environment.NewLine, output.ToString());
    }
}
