using System.Globalization;

namespace FineTune.Planning;

/// <summary>A time budget too small for even the smallest run; the message says the least that works.</summary>
public sealed class TimeBudgetException(string message) : FineTuneException(message, ExitCodes.Usage);

/// <summary>
/// Plans a run on a folder of photos to fit a time budget, from costs measured on this machine (pure arithmetic, so
/// the tests check it exactly). On a CPU it plans configs/resnet18_fixres_cpu.yaml's strategy: a linear probe on
/// features computed once, one epoch of layer3 + layer4 with BatchNorm frozen, then the head fitted again on the
/// fine-tuned backbone's features at the evaluation size. Size comes first, since it is what buys accuracy there
/// (Caltech-101 probe: 92.8% test at 224 px, 93.7% at 320 px; 81.2% at 96 px even with an epoch): the planner takes the
/// largest evaluation size at which the cheapest run (a probe alone) fits, then at that size the best of its
/// <see cref="Ladder"/> that fits. On a GPU it plans the seed's full fine-tune at 224 px with as many epochs as fit.
/// </summary>
public static class RunPlanner
{
    /// <summary>
    /// Plans fill this share of the budget: the per-pixel scaling of one measured size and the loader's share of the
    /// cores are estimates, and the run's epoch deadline only stops whole epochs.
    /// </summary>
    public const double Margin = 0.92;

    /// <summary>Evaluation sizes tried, largest first (multiples of 32, as the ResNet's stride wants).</summary>
    public static readonly int[] Sizes = [320, 288, 256, 224, 192, 160, 128, 96];

    /// <summary>
    /// The epochs a CPU plan trains, each followed by the head's refit (training.refit_head): on Caltech-101 one epoch
    /// and the refit (configs/resnet18_fixres_cpu.yaml) tested 95.34 ± 0.42% over three split seeds where the fast
    /// recipe's two epochs without it tested 94.42 ± 0.12%, in 0.85-0.90 of its time (docs/results.md). Nothing measured
    /// on a CPU beats it, so a larger budget buys no more: the run ends early.
    /// </summary>
    public const int CpuEpochs = 1;
    public const int MaxGpuEpochs = 30;

    /// <summary>Kernel check for the planned sizes, weights, checkpoints, ONNX export: measured 10-20 s on 2 cores.</summary>
    public static readonly TimeSpan FixedOverhead = TimeSpan.FromSeconds(20);

    /// <summary>Images the report runs Grad-CAM on at most (misclassified and a sample of correct ones); each costs about three forward passes.</summary>
    public const int ReportImages = 224;

    /// <summary>
    /// The largest evaluation size worth its time for photos whose shorter side is <paramref name="medianShortSide"/>:
    /// ImageNet features like objects larger than a 224 px view shows them, but stretching a photo more than about
    /// 1.6x adds no detail. Never below the weights' own 224 nor above the 320 the fast recipe measured best.
    /// </summary>
    public static int SizeCap(int medianShortSide) => Math.Clamp(RoundDown32(1.6 * medianShortSide), 224, 320);

    /// <summary>
    /// Training crops at 0.9 of the evaluation size, as the fast recipe (288 for 320): random crops of 80-100% show
    /// objects a little larger than the whole photo does at test (FixRes). At 0.8 (256 for 320) one epoch on Caltech-101
    /// lowered validation from the probe's 93.41% to 92.40%: the features learnt a scale the test never shows.
    /// </summary>
    public static int TrainSizeFor(int evalSize) => Math.Max(Math.Min(96, evalSize), RoundDown32(0.9 * evalSize));

    public static RunPlan Plan(PlanRequest r)
    {
        if (r.TrainImages < 1 || r.ValImages < 1 || r.TestImages < 1)
            throw new ArgumentException("A plan needs at least one image in each split.", nameof(r));
        return r.Gpu ? PlanGpu(r) : PlanCpu(r);
    }

    static RunPlan PlanCpu(PlanRequest r)
    {
        var usable = r.Budget * Margin - r.Spent;
        var candidates = r.ImageSize is { } forced ? [forced] : Sizes.Where(s => s <= SizeCap(r.MedianShortSide)).ToArray();
        // Size first: the largest size at which the cheapest run fits, the one the user asked for or a probe alone.
        int leastEpochs = r.Epochs ?? 0;
        int? size = candidates.Cast<int?>().FirstOrDefault(s => Cost(r, s!.Value, leastEpochs, mirrored: false) <= usable);
        bool forcedBoth = r.ImageSize is not null && r.Epochs is not null;
        if (size is null && !forcedBoth) throw TooSmall(r, candidates[^1], leastEpochs, (q, s) => CpuEpoch(q, s, mirrored: false));
        var plan = AtSize(r, size ?? candidates[0], usable);
        return plan with { Why = Why(r, plan, candidates, usable) };
    }

    /// <summary>
    /// The CPU plan at one size: the epochs asked for, or the first of <see cref="Ladder"/> that fits; mirror images
    /// (data.augmentation.eval_flip: validation and test each see every photo and its mirror image, and so do a probe-only
    /// run's features) whenever they fit with those epochs.
    /// </summary>
    static RunPlan AtSize(PlanRequest r, int size, TimeSpan usable)
    {
        (int epochs, bool mirrored) = r.Epochs is { } asked
            ? (asked, Cost(r, size, asked, mirrored: true) <= usable)
            : Ladder.FirstOrDefault<(int Epochs, bool Mirrored)>(s => Cost(r, size, s.Epochs, s.Mirrored) <= usable, (0, false));
        return new RunPlan(size, TrainSizeFor(size), epochs, false, Probe(r, size, epochs, mirrored), CpuEpoch(r, size, mirrored), Test(r, size, mirrored), Fixed(r, size), r.Spent, r.Budget, "", mirrored, Refit(r, size, epochs));
    }

    /// <summary>
    /// What a CPU run at one size spends a larger budget on, best first (Caltech-101, seed 42 unless said): the epoch and
    /// refit tested with mirror images (95.34 ± 0.42% over seeds 42-44); without them (the refitted head tested plain:
    /// 94.92% in the feature study); the probe alone with mirror images, refitted on training + validation (94.84 ±
    /// 0.17%, seeds 42-44); the probe alone (mirror images lifted it 0.4-0.6 points). docs/results.md.
    /// </summary>
    static readonly (int Epochs, bool Mirrored)[] Ladder = [(CpuEpochs, true), (CpuEpochs, false), (0, true), (0, false)];

    /// <summary>
    /// The same plan after more of the budget was spent (the kernel check for the planned sizes, which a first run on a
    /// machine makes): the sizes stay; on a CPU the plan steps down <see cref="Ladder"/> to what still fits (mirror images
    /// go before the epoch, then the probe alone runs); on a GPU the epochs shrink, never
    /// below one. Epochs the user asked for stay.
    /// </summary>
    public static RunPlan AfterSpending(RunPlan plan, PlanRequest r)
    {
        if (r.Epochs is not null || (!plan.Gpu && plan.Epochs == 0 && !plan.Mirrored)) return plan with { Spent = r.Spent };
        if (!plan.Gpu) return AtSize(r, plan.EvalSize, r.Budget * Margin - r.Spent) with { Why = plan.Why };
        var rest = r.Budget * Margin - r.Spent - (plan.Probe + plan.Test + plan.Fixed);
        int epochs = Math.Min(plan.Epochs, (int)Math.Floor(rest / plan.Epoch));
        return plan with { Spent = r.Spent, Epochs = Math.Max(1, epochs) };
    }

    static RunPlan PlanGpu(PlanRequest r)
    {
        var usable = r.Budget * Margin - r.Spent;
        if (r.Epochs == 0)
            throw new ArgumentException("--epochs 0 (a linear probe alone) is a CPU plan; a run on a GPU fine-tunes every layer: give --epochs 1 or more, or leave it to the planner.", nameof(r));
        int size = r.ImageSize ?? MachineCosts.ReferenceSize;
        var core = Test(r, size) + Fixed(r, size);
        var epoch = GpuEpoch(r, size);
        if (r.Epochs is null && core + epoch > usable) throw TooSmall(r, size, 1, GpuEpoch);
        int epochs = r.Epochs ?? Math.Min(MaxGpuEpochs, (int)Math.Floor((usable - core) / epoch));
        var plan = new RunPlan(size, size, epochs, true, TimeSpan.Zero, epoch, Test(r, size), Fixed(r, size), r.Spent, r.Budget, "");
        return plan with { Why = Why(r, plan, [size], usable) };
    }

    static TimeSpan Seconds(double s) => TimeSpan.FromSeconds(s);
    /// <summary>One image's forward at <paramref name="size"/>, decoded once; with <paramref name="mirrored"/> its mirror image's forward too.</summary>
    static double PerImage(PlanRequest r, int size, bool mirrored) => (mirrored ? 2 : 1) * r.Costs.Forward(size) + r.Costs.DecodeSeconds;
    /// <summary>
    /// The probe's features of the training images, and of the validation images when the planned recipe scores the
    /// probe (a probe-only run); mirrored only in a probe-only run (before epochs the probe only starts the head).
    /// </summary>
    static TimeSpan Probe(PlanRequest r, int size, int epochs, bool mirrored)
    {
        var recipe = AutoRecipe.Cpu(epochs);
        return Seconds((r.TrainImages + (recipe.ScoresLinearProbe ? r.ValImages : 0)) * PerImage(r, size, mirrored && recipe.LinearProbeFlip));
    }
    /// <summary>The head's refit after the epochs: the training images' features at the evaluation size, each photo once (the validation features are the last epoch's).</summary>
    static TimeSpan Refit(PlanRequest r, int size, int epochs) =>
        AutoRecipe.Cpu(epochs).RefitHead ? Seconds(r.TrainImages * PerImage(r, size, mirrored: false)) : TimeSpan.Zero;
    static TimeSpan Test(PlanRequest r, int size, bool mirrored = false) => Seconds(r.TestImages * PerImage(r, size, mirrored));
    static TimeSpan Fixed(PlanRequest r, int size) =>
        FixedOverhead + Seconds(Math.Min(r.TestImages, ReportImages) * (3 * r.Costs.Forward(size) + r.Costs.DecodeSeconds));
    /// <summary>A whole CPU run: probe, <paramref name="epochs"/> epochs with their validation, the head's refit, test, report and export.</summary>
    static TimeSpan Cost(PlanRequest r, int size, int epochs, bool mirrored) =>
        Probe(r, size, epochs, mirrored) + epochs * CpuEpoch(r, size, mirrored) + Refit(r, size, epochs) + Test(r, size, mirrored) + Fixed(r, size);
    static TimeSpan Validation(PlanRequest r, int size, bool mirrored) => Seconds(r.ValImages * PerImage(r, size, mirrored));
    static TimeSpan CpuEpoch(PlanRequest r, int evalSize, bool mirrored) =>
        Seconds(r.TrainImages * (r.Costs.Train(TrainSizeFor(evalSize)) + r.Costs.DecodeSeconds)) + Validation(r, evalSize, mirrored);
    static TimeSpan GpuEpoch(PlanRequest r, int size) => Seconds(r.TrainImages * (r.Costs.Train(size) + r.Costs.DecodeSeconds)) + Validation(r, size, mirrored: false);

    /// <summary>The budget the smallest run needs (its plan over <see cref="Margin"/>, rounded up to the next half minute), in the refusal.</summary>
    static TimeBudgetException TooSmall(PlanRequest r, int size, int epochs, Func<PlanRequest, int, TimeSpan> epoch)
    {
        var need = r.Spent + (r.Gpu ? Test(r, size) + Fixed(r, size) + epochs * epoch(r, size) : Cost(r, size, epochs, mirrored: false));
        var least = TimeSpan.FromSeconds(Math.Ceiling(need.TotalSeconds / Margin / 30) * 30);
        return new TimeBudgetException(string.Create(CultureInfo.InvariantCulture,
            $"A time budget of {RunPlan.Clock(r.Budget)} is too small for {r.TrainImages + r.ValImages + r.TestImages:N0} photos on this machine: " +
            $"the smallest run ({(r.Gpu ? "" : epochs == 0 ? "a linear probe alone" : "linear probe and ")}{(epochs == 0 ? "" : $"{epochs} epoch{(epochs == 1 ? "" : "s")}")} at {size} px, then test, report and export) needs about {RunPlan.Clock(need)}{(r.Spent.TotalSeconds >= 30 ? $" ({RunPlan.Clock(r.Spent)} of it spent before planning: scanning the photos, checking kernels on a first run)" : "")}; " +
            $"give --time_budget {Minutes(least)} or more."));
    }

    static string Minutes(TimeSpan t) => t.Seconds == 0 ? $"{(int)t.TotalMinutes}m" : $"{(int)t.TotalMinutes}m{t.Seconds}s";

    static string Why(PlanRequest r, RunPlan plan, int[] candidates, TimeSpan usable)
    {
        var c = r.Costs;
        var measured = string.Create(CultureInfo.InvariantCulture,
            $"Measured here at {MachineCosts.ReferenceSize} px: {c.ForwardSeconds * 1000:0.0} ms per image forward, {c.TrainSeconds * 1000:0.0} ms per training image, {c.DecodeSeconds * 1000:0.0} ms decoding.");
        if (plan.Total > r.Budget)
            return $"Over the budget, as --epochs and --image_size ask. {measured}";
        if (plan.Gpu) return measured;
        var why = new List<string>();
        if (r.ImageSize is null)
        {
            int larger = Sizes.Where(s => s > plan.EvalSize).DefaultIfEmpty(0).Min(), least = r.Epochs ?? 0;
            string cheapest = least == 0 ? "a probe alone, test and report" : $"its probe, test, report and {least} epoch{(least == 1 ? "" : "s")}";
            why.Add($"{plan.EvalSize} px: " + (larger == 0 ? "the largest size tried"
                : candidates.Contains(larger) ? $"{larger} px would not fit ({cheapest} ~{Needs(r, larger, least, mirrored: false)})"
                : $"the photos' median shorter side of {r.MedianShortSide} px caps the size at {plan.EvalSize} px"));
        }
        if (plan.Epochs == 0 && r.Epochs is null)
            why.Add($"No fine-tuning: an epoch at {plan.TrainSize} px and the head's refit would not fit (~{Needs(r, plan.EvalSize, CpuEpochs, mirrored: false)})");
        if (plan.Epochs == 0)
            why.Add(plan.Mirrored ? "Each photo with its mirror image, which lifted the probe 0.4-0.6 points on Caltech-101"
                : $"No mirror images: they would not fit (~{Needs(r, plan.EvalSize, 0, mirrored: true)})");
        else if (plan.Mirrored)
            why.Add("Validation and test with each photo's mirror image, which lifted the refitted head 0.5 points on Caltech-101");
        else
            why.Add($"No mirror images: with {plan.Epochs} epoch{(plan.Epochs == 1 ? "" : "s")} they would not fit (~{Needs(r, plan.EvalSize, plan.Epochs, mirrored: true)})");
        return string.Concat(why.Select(w => w + ". ")) + measured;
    }

    /// <summary>What another run would take counted from the start, as the plan's own total is: time spent before planning included.</summary>
    static string Needs(PlanRequest r, int size, int epochs, bool mirrored) => RunPlan.Clock(r.Spent + Cost(r, size, epochs, mirrored));

    static int RoundDown32(double pixels) => (int)Math.Floor(pixels / 32) * 32;
}
