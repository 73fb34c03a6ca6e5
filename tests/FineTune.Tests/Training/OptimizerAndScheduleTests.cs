using FineTune.Config;
using FineTune.Training;
using TorchSharp.Modules;
using Xunit;

namespace FineTune.Tests.Training;

public class OptimizerAndScheduleTests
{
    [Theory]
    [InlineData(OptimizerKind.Sgd, typeof(SGD)), InlineData(OptimizerKind.Adam, typeof(Adam)), InlineData(OptimizerKind.AdamW, typeof(FineTune.Training.Optimizers.AdamW))]
    public void The_classifier_learns_at_base_lr_times_the_multiplier(OptimizerKind kind, Type type)
    {
        using var model = Tiny.Model();
        var t = new TrainingConfig { Optimizer = kind, BaseLr = 1e-5, FcLrMultiplier = 10 };
        using var optimizer = OptimizerFactory.Create(t, model);
        Assert.IsType(type, optimizer);
        var rates = OptimizerFactory.Rates(optimizer);
        Assert.Equal(1e-5, rates[0], 12);
        Assert.Equal(1e-4, rates[1], 12);
        Assert.Equal(model.parameters().Count(), optimizer.parameters().Count());
    }

    static double[] Scales(TrainingConfig t, int epochs) =>
        Enumerable.Range(1, epochs).Select(e => new LearningRateSchedule(t, 10).Rates(e, 0)[0] / t.BaseLr).ToArray();

    [Fact]
    public void Step_decays_by_factor_every_third_of_the_epochs()
    {
        var s = Scales(new TrainingConfig { Scheduler = SchedulerKind.Step, NumEpochs = 9, Factor = 0.1, BaseLr = 1 }, 9);
        Assert.Equal([1, 1, 1, 0.1, 0.1, 0.1, 0.01, 0.01, 0.01], s.Select(x => Math.Round(x, 10)));
    }

    [Fact]
    public void Cosine_anneals_to_zero_over_num_epochs()
    {
        var s = Scales(new TrainingConfig { Scheduler = SchedulerKind.Cosine, NumEpochs = 4, BaseLr = 1 }, 5);
        Assert.Equal(1, s[0], 10);
        Assert.Equal((1 + Math.Cos(Math.PI / 4)) / 2, s[1], 10);
        Assert.Equal(0.5, s[2], 10);
        Assert.Equal(0, s[4], 10);
    }

    [Fact]
    public void Cosine_per_step_anneals_within_a_one_epoch_run()
    {
        var t = new TrainingConfig { Scheduler = SchedulerKind.CosinePerStep, NumEpochs = 1, BaseLr = 1 };
        var schedule = new LearningRateSchedule(t, 10);
        double[] s = Enumerable.Range(0, 10).Select(b => schedule.Rates(1, b)[0]).ToArray();
        Assert.Equal(1, s[0], 10);
        Assert.Equal(0.5, s[5], 10); // half-way through the only epoch, where per-epoch cosine still gives 1
        Assert.Equal((1 + Math.Cos(Math.PI * 9 / 10)) / 2, s[9], 10);
        for (int b = 1; b < 10; b++) Assert.True(s[b] < s[b - 1], $"rate rose at step {b}");
        // Over two epochs the curve is continuous: epoch 2 starts where epoch 1 left off.
        var two = new LearningRateSchedule(t with { NumEpochs = 2 }, 10);
        Assert.Equal(0.5, two.Rates(2, 0)[0], 10);
    }

    [Fact]
    public void Plateau_reduces_after_patience_epochs_without_improvement_in_accuracy()
    {
        var t = new TrainingConfig { Scheduler = SchedulerKind.ReduceLrOnPlateau, Patience = 1, Factor = 0.1, BaseLr = 1e-3 };
        var schedule = new LearningRateSchedule(t, 10);
        Assert.False(schedule.EndEpoch(0.50)); // first value is the best
        Assert.False(schedule.EndEpoch(0.60)); // better (mode max)
        Assert.False(schedule.EndEpoch(0.60)); // 1 bad epoch = patience
        Assert.True(schedule.EndEpoch(0.55));  // 2 bad epochs > patience: reduce
        Assert.Equal(1e-4, schedule.Rates(5, 0)[0], 12);
        Assert.Equal(0, schedule.State.BadEpochs);
    }

    [Fact]
    public void Warmup_ramps_per_step_and_a_frozen_backbone_gets_rate_zero()
    {
        var t = new TrainingConfig { Scheduler = SchedulerKind.None, WarmupEpochs = 1, FreezeBackboneEpochs = 1, BaseLr = 1, FcLrMultiplier = 10 };
        var schedule = new LearningRateSchedule(t, 4);
        Assert.Equal([0, 2.5], schedule.Rates(1, 0));
        Assert.Equal([0, 10], schedule.Rates(1, 3));
        Assert.Equal([1, 10], schedule.Rates(2, 0));
    }
}
