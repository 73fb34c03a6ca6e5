using FineTune.Planning;
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

    // The whole run at each size, worked out from the costs above (probe, epochs with validation, test, report and export):
    //   320 px: forward 0.01*(320/224)^2 = 20.41 ms. A probe alone scores on validation: 6,000 images 122.45 s, test 2,000
    //   images 40.82 s, fixed 20 + 224*3*20.41 ms = 33.71 s: 196.98 s; with mirror images (probe and test twice) 360.24 s.
    //   With epochs the probe skips validation (81.63 s) and each epoch at 288 px costs 4,000 * 30 ms * (288/224)^2
    //   = 198.37 s + validation 40.82 s = 239.18 s: 2 epochs 634.53 s, 3 epochs 873.71 s.
    //   With mirror images every evaluation runs twice: the probe 163.27 s, each epoch 198.37 + 81.63 = 280.00 s, the test
    //   81.63 s: 2 epochs 838.61 s, 3 epochs 1118.61 s.
    //   288 px: probe alone 163.35 s; 2 epochs (at 256 px) 509.88 s.   160 px: probe alone 64.24 s, 3 epochs 202.20 s.
    //   192 px: probe alone 83.71 s.   128 px: probe alone 48.32 s.   96 px: probe alone 35.93 s.
    // Usable: 0.92 of the budget: 1 min 55.2 s, 1.5 min 82.8 s, 5 min 276 s, 10 min 552 s, 13 min 717.6 s, 16 min 883.2 s,
    // 20 min 1104 s, 21 min 1159.2 s.

    [Fact]
    public void Ten_minutes_buys_the_probe_alone_at_320_px_with_mirror_images_when_two_epochs_do_not_fit()
    {
        var plan = RunPlanner.Plan(Request(10)); // 2 epochs need 634.53 s of 552; the mirrored probe 360.24 s fits
        Assert.Equal((320, 0, true), (plan.EvalSize, plan.Epochs, plan.Mirrored));
        Assert.Equal(244.90, plan.Probe.TotalSeconds, 2);
        Assert.Equal(81.63, plan.Test.TotalSeconds, 2);
        Assert.Equal(360.24, plan.Total.TotalSeconds, 2);
        Assert.Contains("No fine-tuning epochs: 2 at 288 px would not fit (~10m34s)", plan.Why);
    }

    [Fact]
    public void Thirteen_minutes_buys_the_probe_at_320_px_and_two_epochs_at_288()
    {
        var plan = RunPlanner.Plan(Request(13));
        Assert.Equal((320, 288, 2, false), (plan.EvalSize, plan.TrainSize, plan.Epochs, plan.Mirrored));
        Assert.Equal(81.63, plan.Probe.TotalSeconds, 2);
        Assert.Equal(239.18, plan.Epoch.TotalSeconds, 2);
        Assert.Equal(634.53, plan.Total.TotalSeconds, 2);
        Assert.True(plan.Total <= TimeSpan.FromMinutes(13) * RunPlanner.Margin);
    }

    [Fact]
    public void Fifteen_minutes_keeps_two_epochs_without_mirror_images_when_they_do_not_fit_with_them()
    {
        var plan = RunPlanner.Plan(Request(15)); // 828 s: 2 epochs with mirrors need 838.61 s, 3 without 873.71 s; 2 without 634.53 s
        Assert.Equal((320, 2, false), (plan.EvalSize, plan.Epochs, plan.Mirrored));
        Assert.Contains("No mirror images: with 2 epochs they would not fit (~13m58s)", plan.Why);
    }

    [Fact]
    public void A_larger_budget_evaluates_with_mirror_images_before_it_adds_a_third_epoch()
    {
        var two = RunPlanner.Plan(Request(20)); // 1104 s: 3 epochs with mirrors (1118.61 s) do not fit, 2 with them (838.61 s) do
        Assert.Equal((320, 288, 2, true), (two.EvalSize, two.TrainSize, two.Epochs, two.Mirrored));
        Assert.Equal(163.27, two.Probe.TotalSeconds, 2);
        Assert.Equal(280.00, two.Epoch.TotalSeconds, 2);
        Assert.Equal(81.63, two.Test.TotalSeconds, 2);
        Assert.Equal(838.61, two.Total.TotalSeconds, 2);
        Assert.Contains("3 epochs with them would not fit (~18m38s)", two.Why);
        var three = RunPlanner.Plan(Request(21)); // 1159.2 s
        Assert.Equal((3, true), (three.Epochs, three.Mirrored));
        Assert.Equal(1118.61, three.Total.TotalSeconds, 2);
        Assert.StartsWith("Plan: linear probe on features at 320 px with mirror images (~2m43s), then 3 epochs of layer3 + layer4 at 288 px (~", three.Summary());
        Assert.Contains("each, validating with mirror images), test at 320 px with mirror images (~1m21s)", three.Summary());
        var config = AutoRecipe.Apply(AutoRecipe.ForFolder("photos", "x", "outputs", "resnet18", "auto"), three, classes: 5);
        Assert.Equal((3, true, false), (config.Training.NumEpochs, config.Data.Augmentation.EvalFlip, config.Training.ScoresLinearProbe));
    }

    [Fact]
    public void The_last_epoch_may_end_where_test_report_and_export_finish_within_five_percent_past_the_budget()
    {
        var plan = RunPlanner.Plan(Request(13)); // test 40.82 s, fixed 33.71 s: 74.53 s after training
        var started = new DateTime(2026, 12, 5, 0, 0, 0, DateTimeKind.Utc);
        // 13 min * 1.05 = 819 s, less 74.53 s: the last epoch may end 744.47 s after the start.
        Assert.Equal(744.47, (plan.EpochDeadline(started) - started).TotalSeconds, 2);
        Assert.True(plan.Total < plan.EpochDeadline(started) - started + plan.AfterTraining); // the plan itself leaves slack
    }

    [Fact]
    public void A_larger_budget_adds_epochs_up_to_the_cap_and_never_plans_a_single_one()
    {
        Assert.Equal(RunPlanner.MaxCpuEpochs, RunPlanner.Plan(Request(60)).Epochs);
        Assert.Equal(320, RunPlanner.Plan(Request(60)).EvalSize); // never above the fast recipe's measured best
        for (double minutes = 1; minutes <= 60; minutes += 0.25)
            Assert.NotEqual(1, RunPlanner.Plan(Request(minutes)).Epochs); // one epoch measured below the probe alone
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
        Assert.Equal((320, 288, 4), (plan.EvalSize, plan.TrainSize, plan.Epochs));
        Assert.Contains("Over the budget", plan.Why);
        Assert.Equal((160, 3), (RunPlanner.Plan(Request(10, imageSize: 160)) is var p ? (p.EvalSize, p.Epochs) : default));
        Assert.Equal((288, 2), (RunPlanner.Plan(Request(10, epochs: 2)) is var q ? (q.EvalSize, q.Epochs) : default)); // 320 px with 2 epochs needs 634.53 s
        Assert.Equal((320, 1), (RunPlanner.Plan(Request(10, epochs: 1)) is var o ? (o.EvalSize, o.Epochs) : default)); // one epoch when asked: 395.35 s
    }

    [Fact]
    public void Time_spent_after_planning_takes_epochs_away_and_below_two_leaves_the_probe_alone()
    {
        var plan = RunPlanner.Plan(Request(13)); // 2 epochs
        Assert.Equal(2, RunPlanner.AfterSpending(plan, Request(13, spentSeconds: 5)).Epochs);
        // 200 s spent: 717.6 - 200 - 156.16 = 361.44 s is one epoch, not two: the probe alone, now with validation, and mirrors (360.24 of 517.6 s).
        var after = RunPlanner.AfterSpending(plan, Request(13, spentSeconds: 200));
        Assert.Equal((320, 0, true), (after.EvalSize, after.Epochs, after.Mirrored));
        Assert.Equal(244.90, after.Probe.TotalSeconds, 2);
        Assert.Equal((320, 0, false), (RunPlanner.AfterSpending(plan, Request(13, spentSeconds: 700)) is var a ? (a.EvalSize, a.Epochs, a.Mirrored) : default));
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
        var line = RunPlanner.Plan(Request(13)).Summary();
        Assert.StartsWith("Plan: linear probe on features at 320 px (~1m21s), then 2 epochs of layer3 + layer4 at 288 px (~3m59s each), test at 320 px (~41s)", line);
        Assert.Contains("~10m34s of the 13m00s budget", line);
        Assert.Contains("Measured here at 224 px: 10.0 ms per image forward, 30.0 ms per training image, 0.0 ms decoding.", line);
        var probe = RunPlanner.Plan(Request(10)).Summary();
        Assert.StartsWith("Plan: linear probe alone on features at 320 px with mirror images (~4m04s), test at 320 px with mirror images (~1m21s), report and export (~34s): ~6m00s of the 10m00s budget.", probe);
    }

    [Fact]
    public void A_probe_only_plan_budgets_the_probes_validation_pass_and_a_plan_with_epochs_does_not()
    {
        // The probe alone is the result of a probe-only run, so it is scored on validation: 6,000 images at 320 px, 122.45 s.
        Assert.Equal(122.45, RunPlanner.Plan(Request(5, epochs: 0)).Probe.TotalSeconds, 2);
        Assert.Equal(81.63, RunPlanner.Plan(Request(10, epochs: 1)).Probe.TotalSeconds, 2);
        Assert.False(AutoRecipe.FastCpu(1).LinearProbeValidate); // what the plan assumed, so the run does what was budgeted
    }

    [Fact]
    public void The_recipe_of_a_mirrored_probe_plan_evaluates_with_mirror_images_and_trains_no_epochs()
    {
        var folder = AutoRecipe.ForFolder("photos", "x", "outputs", "resnet18", "auto");
        var config = AutoRecipe.Apply(folder, RunPlanner.Plan(Request(10)), classes: 5);
        Assert.Equal((0, true, true, 320), (config.Training.NumEpochs, config.Training.ScoresLinearProbe, config.Data.Augmentation.EvalFlip, config.Data.EvalImageSize));
        Assert.False(AutoRecipe.Apply(folder, RunPlanner.Plan(Request(13)), classes: 5).Data.Augmentation.EvalFlip);
    }

    [Fact]
    public void A_probe_only_plan_refits_its_probe_with_the_validation_images_and_a_plan_with_epochs_does_not()
    {
        // The refit reuses the validation features the probe-only run computes for its score: nothing more to budget.
        var folder = AutoRecipe.ForFolder("photos", "x", "outputs", "resnet18", "auto");
        var probeOnly = AutoRecipe.Apply(folder, RunPlanner.Plan(Request(10)), classes: 5);
        Assert.Equal((0, true), (probeOnly.Training.NumEpochs, probeOnly.Training.LinearProbeRefitWithVal));
        var withEpochs = AutoRecipe.Apply(folder, RunPlanner.Plan(Request(10, epochs: 1)), classes: 5);
        Assert.Equal((1, false), (withEpochs.Training.NumEpochs, withEpochs.Training.LinearProbeRefitWithVal));
    }
}
