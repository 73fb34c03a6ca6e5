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

    [Fact]
    public void Ten_minutes_buys_the_probe_at_320_px_and_one_epoch_at_288()
    {
        // 320 px: forward 0.01*(320/224)^2 = 20.4 ms. Probe 4,000 training images 81.63 s (no validation pass: epoch 1 validates),
        // test 40.82 s, fixed 20 + 224*3*20.4 ms = 33.71 s: 156.16 s, within half of 0.92*600 = 552 s. An epoch: 4,000 * 30 ms *
        // (288/224)^2 = 198.37 s + validation 40.82 s = 239.18 s; a second does not fit (156.16 + 2 * 239.18 > 552).
        var plan = RunPlanner.Plan(Request(10));
        Assert.Equal((320, 288, 1), (plan.EvalSize, plan.TrainSize, plan.Epochs));
        Assert.Equal(81.63, plan.Probe.TotalSeconds, 2);
        Assert.Equal(239.18, plan.Epoch.TotalSeconds, 2);
        Assert.Equal(395.35, plan.Total.TotalSeconds, 2);
        Assert.True(plan.Total <= TimeSpan.FromMinutes(10) * RunPlanner.Margin);
    }

    [Fact]
    public void A_larger_budget_adds_epochs_up_to_the_cap()
    {
        Assert.Equal(2, RunPlanner.Plan(Request(13)).Epochs);   // (717.6 - 156.16) / 239.18 = 2.3
        Assert.Equal(RunPlanner.MaxCpuEpochs, RunPlanner.Plan(Request(60)).Epochs);
        Assert.Equal(320, RunPlanner.Plan(Request(60)).EvalSize); // never above the fast recipe's measured best
    }

    [Fact]
    public void Five_minutes_steps_the_size_down_until_probe_test_and_an_epoch_fit()
    {
        // Half of 0.92*300 = 276 s is 138 s: 320 px needs 156.16 s; 288 px's 130.29 s fits, but with an epoch at 256 px
        // (156.73 s + validation 33.06 s) it needs 320.1 s. 256 px: 107.14 s + an epoch at 224 px (120 s + 26.12 s) = 253.3 s.
        var plan = RunPlanner.Plan(Request(5));
        Assert.Equal((256, 224, 1), (plan.EvalSize, plan.TrainSize, plan.Epochs));
        Assert.Contains("288 px would not fit", plan.Why);
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
        // 96 px: probe 4,000 * 1.84 ms = 7.3 s, test 3.7 s, fixed 21.2 s, one epoch at 96 px 22.0 + 3.7 s: 58.0 s, over 0.92 -> 1m30s.
        Assert.Contains("A time budget of 30s is too small for 8,000 photos", e.Message);
        Assert.Contains("at 96 px", e.Message);
        Assert.Contains("give --time_budget 1m30s or more", e.Message);
        var least = RunPlanner.Plan(Request(1.5));
        Assert.Equal(96, least.EvalSize);
        Assert.True(least.Total <= TimeSpan.FromMinutes(1.5));
    }

    [Fact]
    public void Time_spent_before_planning_counts_and_is_named_in_a_refusal()
    {
        var e = Assert.Throws<TimeBudgetException>(() => RunPlanner.Plan(Request(1.5, spentSeconds: 120)));
        Assert.Contains("2m00s of it spent before planning", e.Message);
        Assert.True(RunPlanner.Plan(Request(10, spentSeconds: 200)).EvalSize < 320); // 352 s left: 320 px's 156.16 s and an epoch of 239.18 s do not fit
    }

    [Fact]
    public void Epochs_and_size_the_user_gives_are_kept_even_over_the_budget_and_the_plan_says_so()
    {
        var plan = RunPlanner.Plan(Request(5, epochs: 4, imageSize: 320));
        Assert.Equal((320, 288, 4), (plan.EvalSize, plan.TrainSize, plan.Epochs));
        Assert.Contains("Over the budget", plan.Why);
        Assert.Equal(160, RunPlanner.Plan(Request(10, imageSize: 160)).EvalSize);
        Assert.Equal(2, RunPlanner.Plan(Request(10, epochs: 2)).Epochs);
    }

    [Fact]
    public void Time_spent_after_planning_takes_epochs_away_but_never_the_last_one()
    {
        var plan = RunPlanner.Plan(Request(13)); // 2 epochs
        Assert.Equal(2, plan.Epochs);
        Assert.Equal(1, RunPlanner.AfterSpending(plan, Request(13, spentSeconds: 200)).Epochs);
        Assert.Equal(1, RunPlanner.AfterSpending(plan, Request(13, spentSeconds: 700)).Epochs);
        Assert.Equal(2, RunPlanner.AfterSpending(plan, Request(13, spentSeconds: 5)).Epochs);
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
    public void The_plan_line_says_what_each_part_takes_and_why()
    {
        var line = RunPlanner.Plan(Request(10)).Summary();
        Assert.StartsWith("Plan: linear probe on features at 320 px (~1m21s), then 1 epoch of layer3 + layer4 at 288 px (~3m59s each), test at 320 px (~41s)", line);
        Assert.Contains("~6m35s of the 10m00s budget", line);
        Assert.Contains("Measured here at 224 px: 10.0 ms per image forward, 30.0 ms per training image, 0.0 ms decoding.", line);
    }

    [Fact]
    public void A_probe_only_plan_budgets_the_probes_validation_pass_and_a_plan_with_epochs_does_not()
    {
        // The probe alone is the result of a probe-only run, so it is scored on validation: 6,000 images at 320 px, 122.45 s.
        Assert.Equal(122.45, RunPlanner.Plan(Request(10, epochs: 0)).Probe.TotalSeconds, 2);
        Assert.Equal(81.63, RunPlanner.Plan(Request(10, epochs: 1)).Probe.TotalSeconds, 2);
        Assert.False(AutoRecipe.FastCpu(1).LinearProbeValidate); // what the plan assumed, so the run does what was budgeted
    }
}
