using FineTune.Config;
using FineTune.Planning;
using FineTune.Tests.Config;
using Xunit;

namespace FineTune.Tests.Planning;

/// <summary>
/// The planner's arithmetic on round numbers worked out by hand in each test: 10 ms per image forward and 30 ms per
/// training image at 224 px (scaled by pixels), no decoding cost, a Caltech-sized split of 4,000/2,000/2,000 photos.
/// </summary>
public sealed class RunPlannerTests
{
    static readonly MachineCosts Costs = new(ForwardSeconds: 0.010, TrainSeconds: 0.030, DecodeSeconds: 0);

    static PlanRequest Request(double budgetMinutes, int medianShortSide = 300, double spentSeconds = 0, bool gpu = false, int? epochs = null, int? imageSize = null) =>
        new(4000, 2000, 2000, medianShortSide, Costs, TimeSpan.FromMinutes(budgetMinutes), TimeSpan.FromSeconds(spentSeconds), gpu, epochs, imageSize);

    // The whole run at each size, worked out from the costs above (probe, epoch with validation, the head's refit, test,
    // report and export):
    //   320 px: forward 0.01*(320/224)^2 = 20.41 ms. A probe alone scores on validation: 6,000 images 122.45 s, test 2,000
    //   images 40.82 s, fixed 20 + 224*3*20.41 ms = 33.71 s: 196.98 s; with mirror images (probe and test twice) 360.24 s.
    //   With the epoch the probe skips validation and sees each photo once (81.63 s); the epoch at 288 px costs 4,000 *
    //   30 ms * (288/224)^2 = 198.37 s + validation 40.82 s = 239.18 s; the refit's features of the training photos
    //   81.63 s: 476.98 s. With mirror images validation and test run twice: the epoch 280.00 s, the test 81.63 s: 558.61 s.
    //   160 px: the epoch and refit with mirror images 144.24 s.
    //   192 px: probe alone 83.71 s.   128 px: probe alone 48.32 s.   96 px: probe alone 35.93 s.
    // Usable: 0.92 of the budget: 1 min 55.2 s, 1.5 min 82.8 s, 5 min 276 s, 8 min 441.6 s, 10 min 552 s, 11 min 607.2 s.

    [Fact]
    public void Eight_minutes_buys_the_probe_alone_at_320_px_with_mirror_images_when_the_epoch_and_refit_do_not_fit()
    {
        var plan = RunPlanner.Plan(Request(8)); // the epoch and refit need 476.98 s of 441.6; the mirrored probe 360.24 s fits
        Assert.Equal((320, 0, true), (plan.EvalSize, plan.Epochs, plan.Mirrored));
        Assert.Equal(244.90, plan.Probe.TotalSeconds, 2);
        Assert.Equal(81.63, plan.Test.TotalSeconds, 2);
        Assert.Equal(TimeSpan.Zero, plan.Refit);
        Assert.Equal(360.24, plan.Total.TotalSeconds, 2);
        Assert.Contains("No fine-tuning: an epoch at 288 px and the head's refit would not fit (~7m56s)", plan.Why);
    }

    [Fact]
    public void Eleven_minutes_buys_the_probe_one_epoch_at_288_the_heads_refit_at_320_and_mirror_images()
    {
        var plan = RunPlanner.Plan(Request(11));
        Assert.Equal((320, 288, 1, true), (plan.EvalSize, plan.TrainSize, plan.Epochs, plan.Mirrored));
        Assert.Equal(81.63, plan.Probe.TotalSeconds, 2);
        Assert.Equal(280.00, plan.Epoch.TotalSeconds, 2);
        Assert.Equal(81.63, plan.Refit.TotalSeconds, 2);
        Assert.Equal(81.63, plan.Test.TotalSeconds, 2);
        Assert.Equal(558.61, plan.Total.TotalSeconds, 2);
        Assert.True(plan.Total <= TimeSpan.FromMinutes(11) * RunPlanner.Margin);
    }

    [Fact]
    public void Ten_minutes_keeps_the_epoch_and_refit_without_mirror_images_when_they_do_not_fit_with_them()
    {
        var plan = RunPlanner.Plan(Request(10)); // 552 s: with mirror images 558.61 s, without 476.98 s
        Assert.Equal((320, 1, false), (plan.EvalSize, plan.Epochs, plan.Mirrored));
        Assert.Equal(476.98, plan.Total.TotalSeconds, 2);
        Assert.Contains("No mirror images: with 1 epoch they would not fit (~9m18s)", plan.Why);
    }

    [Fact]
    public void The_planned_recipe_is_the_fixres_config_and_a_larger_budget_buys_nothing_more()
    {
        var plan = RunPlanner.Plan(Request(60));
        Assert.Equal((320, 288, 1, true), (plan.EvalSize, plan.TrainSize, plan.Epochs, plan.Mirrored)); // never above the measured best
        Assert.Equal(558.61, plan.Total.TotalSeconds, 2);
        for (double minutes = 1; minutes <= 60; minutes += 0.25)
            Assert.InRange(RunPlanner.Plan(Request(minutes)).Epochs, 0, RunPlanner.CpuEpochs);
        Assert.StartsWith("Plan: linear probe on features at 320 px (~1m21s), then 1 epoch of layer3 + layer4 at 288 px (~4m", plan.Summary());
        Assert.Contains(", validating with mirror images), the head refitted on features at 320 px (~1m21s), test at 320 px with mirror images (~1m21s)", plan.Summary());
        // What was measured on Caltech-101 (configs/resnet18_fixres_cpu.yaml) is what a folder of photos trains with.
        var fixres = ConfigLoader.Load(RepoFiles.Path("configs", "resnet18_fixres_cpu.yaml"));
        var config = AutoRecipe.Apply(AutoRecipe.ForFolder("photos", "x", "outputs", "resnet18", "auto"), plan, classes: 5);
        Assert.Equal(fixres.Training, config.Training);
        Assert.Equal((fixres.Data.ImageSize, fixres.Data.EvalImageSize, fixres.Data.Augmentation.EvalFlip), (config.Data.ImageSize, config.Data.EvalImageSize, config.Data.Augmentation.EvalFlip));
    }

    [Fact]
    public void The_last_epoch_may_end_where_the_refit_test_report_and_export_finish_within_five_percent_past_the_budget()
    {
        var plan = RunPlanner.Plan(Request(11)); // refit 81.63 s, test 81.63 s, fixed 33.71 s: 196.98 s after the epoch
        var started = new DateTime(2026, 12, 5, 0, 0, 0, DateTimeKind.Utc);
        // 11 min * 1.05 = 693 s, less 196.98 s: the last epoch may end 496.02 s after the start.
        Assert.Equal(496.02, (plan.EpochDeadline(started) - started).TotalSeconds, 2);
        Assert.True(plan.Total < plan.EpochDeadline(started) - started + plan.AfterTraining); // the plan itself leaves slack
    }

    [Fact]
    public void Five_minutes_keeps_the_size_and_drops_the_mirror_images_that_do_not_fit()
    {
        var plan = RunPlanner.Plan(Request(5)); // probe alone 196.98 s of 276; mirrored 360.24 s does not fit
        Assert.Equal((320, 0, false), (plan.EvalSize, plan.Epochs, plan.Mirrored));
        Assert.Equal(196.98, plan.Total.TotalSeconds, 2);
        Assert.Contains("No mirror images: they would not fit (~6m00s)", plan.Why);
    }

    [Fact]
    public void A_tight_budget_steps_the_size_down_until_the_probe_alone_fits()
    {
        var plan = RunPlanner.Plan(Request(1.5)); // 82.8 s: 192 px's 83.71 s does not fit, 160 px's 64.24 s does
        Assert.Equal((160, 0), (plan.EvalSize, plan.Epochs));
        Assert.Contains("160 px: 192 px would not fit (a probe alone, test and report ~1m23s)", plan.Why);
    }

    [Fact]
    public void Small_photos_cap_the_size_however_large_the_budget()
    {
        Assert.Equal(224, RunPlanner.SizeCap(60));   // never below the weights' own size
        Assert.Equal(256, RunPlanner.SizeCap(170));  // 1.6 * 170 = 272 -> 256
        Assert.Equal(320, RunPlanner.SizeCap(4000));
        var plan = RunPlanner.Plan(Request(60, medianShortSide: 150));
        Assert.Equal(224, plan.EvalSize);
        Assert.Contains("median shorter side of 150 px", plan.Why);
    }

    [Fact]
    public void A_budget_too_small_even_for_the_smallest_run_names_the_least_that_works_and_that_least_plans()
    {
        var e = Assert.Throws<TimeBudgetException>(() => RunPlanner.Plan(Request(0.5)));
        // The smallest run is a probe alone at 96 px, 35.93 s; over 0.92 that is 39.1 s, rounded up to the next half minute.
        Assert.Contains("A time budget of 30s is too small for 8,000 photos", e.Message);
        Assert.Contains("(a linear probe alone at 96 px", e.Message);
        Assert.Contains("give --time_budget 1m or more", e.Message);
        var least = RunPlanner.Plan(Request(1));
        Assert.Equal(128, least.EvalSize); // 55.2 s: 128 px's 48.32 s fits
        Assert.True(least.Total <= TimeSpan.FromMinutes(1));
    }

    [Fact]
    public void Time_spent_before_planning_counts_and_is_named_in_a_refusal()
    {
        var e = Assert.Throws<TimeBudgetException>(() => RunPlanner.Plan(Request(1.5, spentSeconds: 120)));
        Assert.Contains("2m00s of it spent before planning", e.Message);
        var late = RunPlanner.Plan(Request(10, spentSeconds: 200)); // 352 s left: the mirrored probe's 360.24 s does not fit
        Assert.False(late.Mirrored);
        Assert.Contains("No mirror images: they would not fit (~9m20s)", late.Why); // counted from the start, as the plan's total: 200 + 360.24 s
    }

    [Fact]
    public void Epochs_and_size_the_user_gives_are_kept_even_over_the_budget_and_the_plan_says_so()
    {
        var plan = RunPlanner.Plan(Request(5, epochs: 4, imageSize: 320));
        Assert.Equal((320, 288, 4, false, 1194.53), (plan.EvalSize, plan.TrainSize, plan.Epochs, plan.Mirrored, Math.Round(plan.Total.TotalSeconds, 2))); // each epoch 239.18 s, then the refit
        Assert.Contains("Over the budget", plan.Why);
        Assert.Equal((160, 1, true), (RunPlanner.Plan(Request(10, imageSize: 160)) is var p ? (p.EvalSize, p.Epochs, p.Mirrored) : default)); // 144.24 s
        // 2 epochs asked: 716.16 s at 320 px and 576.01 s at 288 px do not fit 552 s; 451.63 s at 256 px does.
        Assert.Equal((256, 2), (RunPlanner.Plan(Request(10, epochs: 2)) is var q ? (q.EvalSize, q.Epochs) : default));
        var two = AutoRecipe.Cpu(2); // more than one epoch take the fast recipe's rates, still with the refit
        Assert.Equal((5e-5, SchedulerKind.Cosine, true), (two.BaseLr, two.Scheduler, two.RefitHead));
    }

    [Fact]
    public void Time_spent_after_planning_drops_the_mirror_images_then_the_epoch()
    {
        var plan = RunPlanner.Plan(Request(11)); // the epoch and refit with mirror images, 558.61 s of 607.2
        Assert.Equal((1, true), RunPlanner.AfterSpending(plan, Request(11, spentSeconds: 5)) is var k ? (k.Epochs, k.Mirrored) : default);
        Assert.Equal((1, false), RunPlanner.AfterSpending(plan, Request(11, spentSeconds: 50)) is var m ? (m.Epochs, m.Mirrored) : default); // 557.2 s left
        // 200 s spent: 407.2 s left is not the epoch's 476.98 s: the probe alone, now with validation, and mirrors (360.24 s).
        var after = RunPlanner.AfterSpending(plan, Request(11, spentSeconds: 200));
        Assert.Equal((320, 0, true), (after.EvalSize, after.Epochs, after.Mirrored));
        Assert.Equal(244.90, after.Probe.TotalSeconds, 2);
        Assert.Equal((320, 0, false), (RunPlanner.AfterSpending(plan, Request(11, spentSeconds: 700)) is var a ? (a.EvalSize, a.Epochs, a.Mirrored) : default));
    }

    [Fact]
    public void On_a_gpu_it_plans_the_seeds_full_fine_tune_at_224_with_as_many_epochs_as_fit()
    {
        // An epoch: 4,000 * 30 ms + 2,000 * 10 ms = 140 s; test 20 s, fixed 20 + 224*3*10 ms = 26.7 s; 30 min * 0.92 = 1656 s -> 11 epochs.
        var plan = RunPlanner.Plan(Request(30, gpu: true));
        Assert.Equal((224, 224, 11, TimeSpan.Zero), (plan.EvalSize, plan.TrainSize, plan.Epochs, plan.Probe));
        Assert.Contains("11 epochs of full fine-tuning at 224 px", plan.Summary());
    }

    [Fact]
    public void On_a_gpu_a_probe_alone_is_refused_with_what_to_do()
    {
        var e = Assert.Throws<ArgumentException>(() => RunPlanner.Plan(Request(30, gpu: true, epochs: 0)));
        Assert.Contains("give --epochs 1 or more", e.Message);
    }

    [Fact]
    public void The_plan_line_says_what_each_part_takes_and_why()
    {
        var line = RunPlanner.Plan(Request(10)).Summary();
        Assert.StartsWith("Plan: linear probe on features at 320 px (~1m21s), then 1 epoch of layer3 + layer4 at 288 px (~3m59s), the head refitted on features at 320 px (~1m21s), test at 320 px (~41s)", line);
        Assert.Contains("~7m56s of the 10m00s budget", line);
        Assert.Contains("Measured here at 224 px: 10.0 ms per image forward, 30.0 ms per training image, 0.0 ms decoding.", line);
        var probe = RunPlanner.Plan(Request(8)).Summary();
        Assert.StartsWith("Plan: linear probe alone on features at 320 px with mirror images (~4m04s), test at 320 px with mirror images (~1m21s), report and export (~34s): ~6m00s of the 8m00s budget.", probe);
    }

    [Fact]
    public void A_probe_only_plan_budgets_the_probes_validation_pass_and_a_plan_with_epochs_does_not()
    {
        // The probe alone is the result of a probe-only run, so it is scored on validation: 6,000 images at 320 px, 122.45 s.
        Assert.Equal(122.45, RunPlanner.Plan(Request(5, epochs: 0)).Probe.TotalSeconds, 2);
        Assert.Equal(81.63, RunPlanner.Plan(Request(10, epochs: 1)).Probe.TotalSeconds, 2);
        Assert.Equal((false, false), (AutoRecipe.Cpu(1).LinearProbeValidate, AutoRecipe.Cpu(1).LinearProbeFlip)); // what the plan assumed, so the run does what was budgeted
    }

    [Fact]
    public void The_recipe_of_a_mirrored_probe_plan_evaluates_with_mirror_images_and_trains_no_epochs()
    {
        var folder = AutoRecipe.ForFolder("photos", "x", "outputs", "resnet18", "auto");
        var config = AutoRecipe.Apply(folder, RunPlanner.Plan(Request(8)), classes: 5);
        Assert.Equal((0, true, true, true, 320), (config.Training.NumEpochs, config.Training.ScoresLinearProbe, config.Data.Augmentation.EvalFlip, config.Training.ProbeMirrored(config.Data), config.Data.EvalImageSize));
        Assert.False(AutoRecipe.Apply(folder, RunPlanner.Plan(Request(10)), classes: 5).Data.Augmentation.EvalFlip);
    }

    [Fact]
    public void A_probe_only_plan_refits_its_probe_with_the_validation_images_and_a_plan_with_epochs_refits_the_head()
    {
        // Either refit with the validation images reuses validation features the run computes anyway: nothing more to
        // budget. The head's refit after the epochs computes the training photos' features once more: budgeted.
        var folder = AutoRecipe.ForFolder("photos", "x", "outputs", "resnet18", "auto");
        var probeOnly = AutoRecipe.Apply(folder, RunPlanner.Plan(Request(8)), classes: 5);
        Assert.Equal((0, true, false), (probeOnly.Training.NumEpochs, probeOnly.Training.LinearProbeRefitWithVal, probeOnly.Training.RefitHead));
        var epochPlan = RunPlanner.Plan(Request(10, epochs: 1));
        var withEpochs = AutoRecipe.Apply(folder, epochPlan, classes: 5);
        Assert.Equal((1, true, true), (withEpochs.Training.NumEpochs, withEpochs.Training.LinearProbeRefitWithVal, withEpochs.Training.RefitHead));
        Assert.Equal(81.63, epochPlan.Refit.TotalSeconds, 2);
        Assert.Equal(withEpochs.Training, ConfigLoader.Parse(ConfigPrinter.ToYaml(withEpochs), "plan").Training); // the loader accepts it, as the written config is read back
    }
}
