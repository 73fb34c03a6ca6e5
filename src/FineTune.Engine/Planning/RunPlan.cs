using System.Globalization;

namespace FineTune.Planning;

/// <summary>
/// A planned run and what each part of it should take: the linear probe's feature pass and the test at
/// <see cref="EvalSize"/>, <see cref="Epochs"/> fine-tuning epochs at <see cref="TrainSize"/> (each with its validation),
/// the head's <see cref="Refit"/> after them (training.refit_head; zero when there is none), and the fixed part (kernel
/// check, weights, report with Grad-CAM, ONNX export). <see cref="Gpu"/> plans the seed's full fine-tune instead, with no
/// probe. A plan with no epochs is the probe alone. <see cref="Mirrored"/> has validation and the test see each photo
/// with its mirror image (data.augmentation.eval_flip), and a probe-only run's features too.
/// </summary>
public sealed record RunPlan(int EvalSize, int TrainSize, int Epochs, bool Gpu,
    TimeSpan Probe, TimeSpan Epoch, TimeSpan Test, TimeSpan Fixed, TimeSpan Spent, TimeSpan Budget, string Why, bool Mirrored = false,
    TimeSpan Refit = default)
{
    /// <summary>Everything the run should take, counted from its start.</summary>
    public TimeSpan Total => Spent + Probe + Epoch * Epochs + Refit + Test + Fixed;

    /// <summary>The time left for what comes after the epochs (the head's refit, test, report, export): <see cref="EpochDeadline"/> keeps it free.</summary>
    public TimeSpan AfterTraining => Refit + Test + Fixed;

    /// <summary>
    /// How far past the budget the epoch deadline lets a run end: a planned epoch stopped for want of seconds leaves
    /// the cosine schedule unfinished and tests an earlier, worse checkpoint (Caltech-101 on a 2-core EPYC: stopped
    /// after 2 of 3 epochs for an end predicted just past 10m00s, which would have come near 9m45s, it tested epoch 1
    /// at 93.13%; all 3 gave 94.45%), so a predicted overrun of up to 5% is taken instead. Plans still aim at
    /// <see cref="RunPlanner.Margin"/> of the budget.
    /// </summary>
    public const double Overrun = 1.05;

    /// <summary>When the last epoch must end for the run to finish within <see cref="Overrun"/> of its budget, counted from <paramref name="started"/>.</summary>
    public DateTime EpochDeadline(DateTime started) => started + Budget * Overrun - AfterTraining;

    /// <summary>The one line the run prints about its plan.</summary>
    public string Summary()
    {
        var mirrors = Mirrored ? " with mirror images" : "";
        var stages = Gpu
            ? $"{Epochs} epoch{S(Epochs)} of full fine-tuning at {TrainSize} px (~{Clock(Epoch)} each)"
            : Epochs == 0 ? $"linear probe alone on features at {EvalSize} px{mirrors} (~{Clock(Probe)})"
            : $"linear probe on features at {EvalSize} px (~{Clock(Probe)}), then {Epochs} epoch{S(Epochs)} of layer3 + layer4 at {TrainSize} px (~{Clock(Epoch)}{(Epochs == 1 ? "" : " each")}{(Mirrored ? ", validating with mirror images" : "")})" +
              (Refit > TimeSpan.Zero ? $", the head refitted on features at {EvalSize} px (~{Clock(Refit)})" : "");
        return $"Plan: {stages}, test at {EvalSize} px{mirrors} (~{Clock(Test)}), report and export (~{Clock(Fixed)}): ~{Clock(Total)} of the {Clock(Budget)} budget. {Why}";
    }

    static string S(int n) => n == 1 ? "" : "s";

    /// <summary>"9m40s", "45s", "1h05m": short enough for one line.</summary>
    public static string Clock(TimeSpan t) => t.TotalSeconds < 60
        ? string.Create(CultureInfo.InvariantCulture, $"{Math.Ceiling(t.TotalSeconds):0}s")
        : t.TotalHours >= 1 ? $"{(int)t.TotalHours}h{t.Minutes:00}m" : $"{(int)t.TotalMinutes}m{t.Seconds:00}s";
}
