using FineTune.Config;
using FineTune.Models;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineTune.Training;

/// <summary>
/// The seed's optimizer: two parameter groups, the backbone at base_lr and the classifier at
/// base_lr x fc_lr_multiplier (a new head learns faster than pretrained features should move).
/// </summary>
public static class OptimizerFactory
{
    public const int BackboneGroup = 0, ClassifierGroup = 1;

    public static OptimizerHelper Create(TrainingConfig t, ResNet model)
    {
        var backbone = model.BackboneParameters().ToList();
        var head = model.Head.parameters().ToList();
        double lr = t.BaseLr, headLr = t.BaseLr * t.FcLrMultiplier;
        return t.Optimizer switch
        {
            OptimizerKind.Sgd => optim.SGD(
                [new SGD.ParamGroup(backbone, lr, t.Momentum, 0, t.WeightDecay, t.Nesterov, false),
                 new SGD.ParamGroup(head, headLr, t.Momentum, 0, t.WeightDecay, t.Nesterov, false)],
                lr, t.Momentum, 0, t.WeightDecay, t.Nesterov),
            OptimizerKind.Adam => optim.Adam(
                [new Adam.ParamGroup(backbone, lr, t.Beta1, t.Beta2, t.Eps, t.WeightDecay, false, false),
                 new Adam.ParamGroup(head, headLr, t.Beta1, t.Beta2, t.Eps, t.WeightDecay, false, false)],
                lr, t.Beta1, t.Beta2, t.Eps, t.WeightDecay),
            // AdamW (every shipped config) keeps the numbers it hands libtorch alive: Optimizers/AdamW.cs says why.
            _ => new Optimizers.AdamW(
                [new AdamW.ParamGroup(backbone, lr, t.Beta1, t.Beta2, t.Eps, t.WeightDecay, false, false),
                 new AdamW.ParamGroup(head, headLr, t.Beta1, t.Beta2, t.Eps, t.WeightDecay, false, false)],
                lr, t.Beta1, t.Beta2, t.Eps, t.WeightDecay),
        };
    }

    /// <summary>The initial rates of the two groups, before any schedule.</summary>
    public static double[] BaseRates(TrainingConfig t) => [t.BaseLr, t.BaseLr * t.FcLrMultiplier];

    public static void SetRates(optim.Optimizer optimizer, IReadOnlyList<double> rates)
    {
        int i = 0;
        foreach (var group in optimizer.ParamGroups) group.LearningRate = rates[i++];
    }

    public static double[] Rates(optim.Optimizer optimizer) => optimizer.ParamGroups.Select(g => g.LearningRate).ToArray();
}
