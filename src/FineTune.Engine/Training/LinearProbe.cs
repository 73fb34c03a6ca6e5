using TorchSharp;
using TorchSharp.Modules;
using FineTune.Logging;
using System.Diagnostics;
using System.Globalization;
using FineTune.Config;
using FineTune.Evaluation;
using FineTune.Models;
using FineTune.Data;
using static TorchSharp.torch;

namespace FineTune.Training;

/// <summary>
/// The classifier trained alone on features of the frozen pretrained backbone, computed once, before fine-tuning
/// (training.linear_probe_epochs). Why: a new head is random, and fine-tuning under a random head sends large,
/// meaningless gradients into pretrained features ("LP-FT", Kumar et al. 2022). Training that head in the image
/// loop costs a full forward pass per image and epoch; on features computed once, thirty epochs take seconds.
/// The probe's own validation accuracy is reported, so the gain of fine-tuning over the probe is visible.
/// </summary>
public sealed class LinearProbe(ResNet model, TrainingConfig t, ProgressReporter progress, ITrainingCollective? collective = null, Device? device = null,
    IEvalEngine? engine = null, bool flipAverage = false)
{
    readonly Device _device = device ?? CPU;
    readonly bool _flipAverage = flipAverage;

    /// <summary>What the log calls this fit: "Linear probe" before the epochs, "Head refit" after them (training.refit_head).</summary>
    public string Label { get; init; } = "Linear probe";

    /// <summary>Fit again on the training + validation features and keep that fit (training.linear_probe_refit_with_val).</summary>
    public bool RefitWithVal { get; init; } = t.LinearProbeRefitWithVal;

    /// <summary>
    /// Whether the validation features are mirror-averaged; as the training features unless set. The head refit sets it to
    /// data.augmentation.eval_flip, so its score compares with the epochs' validation (and reuses the last one's features).
    /// </summary>
    public bool ValFlipAverage { get; init; } = flipAverage;

    /// <summary>
    /// What the probe reached; the losses are plain cross-entropy (no label smoothing), as validation reports them. The
    /// validation figures are NaN when the probe was not scored on validation (<see cref="RunOn"/>).
    /// </summary>
    /// <param name="RefitImages">How many training + validation images the kept head was fitted on again
    /// (training.linear_probe_refit_with_val); 0 when it was not: the kept head is the one scored.</param>
    public sealed record Outcome(int Images, int Epochs, double TrainLoss, double TrainAccuracy, double ValLoss, double ValAccuracy, TimeSpan FeatureTime, TimeSpan FitTime,
        int RefitImages = 0, string Label = "Linear probe")
    {
        public override string ToString()
        {
            var val = double.IsNaN(ValAccuracy) ? "val not measured (epoch 1 validates)" : string.Create(CultureInfo.InvariantCulture, $"val {ValAccuracy * 100:0.00}%");
            var refit = RefitImages == 0 ? "" : $" Then fitted again on the {RefitImages} training + validation images, and that fit is kept: the val figure is the first fit's, on images it had not seen; only test measures the kept head.";
            return string.Create(CultureInfo.InvariantCulture,
                $"{Label}: {Epochs} epochs on the frozen backbone's features of {Images} training images: train {TrainAccuracy * 100:0.00}%, {val} " +
                $"(features {ProgressReporter.Clock(FeatureTime)}, fit {ProgressReporter.Clock(FitTime)}).{refit}");
        }
    }

    /// <summary>
    /// Computes the features, fits the head and reports. Returns null when stopped: the feature passes (minutes on a
    /// real dataset) leave off at the next batch once <paramref name="stop"/> is cancelled, and after each pass
    /// <paramref name="stopAgreed"/> (every rank calls it at the same point) says whether any rank was stopped.
    /// </summary>
    /// <param name="valFeatures">
    /// <paramref name="val"/>'s features when already computed by the same model (the trainer's last validation pass keeps
    /// them for training.refit_head); null: computed here.
    /// </param>
    public Outcome? Run(IBatchSource train, IBatchSource? val, int seed, CancellationToken stop = default, Func<bool>? stopAgreed = null,
        FeatureSet? valFeatures = null)
    {
        bool Stopped() => stopAgreed?.Invoke() ?? stop.IsCancellationRequested;
        var clock = Stopwatch.StartNew();
        using var trainSet = Extract(train, $"{Label}: features (train)", _flipAverage, stop);
        if (Stopped()) return null;
        return RunOn(trainSet.Features, trainSet.Labels, val, seed, clock.Elapsed, stop, stopAgreed, valFeatures);
    }

    /// <summary>
    /// The probe on training features computed elsewhere (<paramref name="trainFeatures"/>, pooled, with their
    /// <paramref name="trainLabels"/>; training.linear_probe_from_cache computes them while it fills the activation cache),
    /// scored on <paramref name="val"/>'s features, or not scored when <paramref name="val"/> is null (the epochs that
    /// follow validate). <paramref name="featureTime"/> is what the training features took, for the report.
    /// </summary>
    public Outcome? RunOn(Tensor trainFeatures, Tensor trainLabels, IBatchSource? val, int seed, TimeSpan featureTime, CancellationToken stop = default, Func<bool>? stopAgreed = null,
        FeatureSet? valFeatures = null)
    {
        bool Stopped() => stopAgreed?.Invoke() ?? stop.IsCancellationRequested;
        var clock = Stopwatch.StartNew();
        // Features handed in stay their owner's to free.
        using var extracted = val is null || valFeatures is not null ? null : Extract(val, $"{Label}: features (val)  ", ValFlipAverage, stop);
        var valSet = valFeatures ?? extracted;
        if (Stopped()) return null;
        featureTime += clock.Elapsed;
        clock.Restart();
        Fit(trainFeatures, trainLabels, seed);
        var (trainLoss, trainAccuracy) = Score(trainFeatures, trainLabels);
        var (valLoss, valAccuracy) = valSet is null ? (double.NaN, double.NaN) : Score(valSet.Features, valSet.Labels);
        int refitImages = 0;
        if (RefitWithVal && valSet is not null)
        {
            // The validation images were held out for the score above; the head kept learns from them too. Same settings
            // and seed, from zero again, so the only difference from the scored fit is the data.
            using var features = cat([trainFeatures, valSet.Features], 0);
            using var labels = cat([trainLabels, valSet.Labels], 0);
            Fit(features, labels, seed);
            refitImages = (int)Sum([features.shape[0]])[0];
        }
        return new Outcome((int)Sum([trainFeatures.shape[0]])[0], t.LinearProbeEpochs, trainLoss, trainAccuracy, valLoss, valAccuracy, featureTime, clock.Elapsed, refitImages, Label);
    }

    /// <summary>One split's pooled features and labels, freed together (the trainer's pass from the cache makes them too).</summary>
    public sealed record FeatureSet(Tensor Features, Tensor Labels) : IDisposable
    {
        public void Dispose() { Features.Dispose(); Labels.Dispose(); }
    }

    /// <summary>Pooled features of every batch by the evaluation loop (BatchNorm on its ImageNet statistics, no gradients).</summary>
    FeatureSet Extract(IBatchSource source, string label, bool mirrored, CancellationToken stop)
    {
        var features = new List<Tensor>();
        var labels = new List<Tensor>();
        progress.StartPhase(ProgressPhase.Features, label, source.BatchCount);
        var clock = Stopwatch.StartNew();
        long seen = 0;
        int b = 0;
        new EvalPass(model, _device, t.ChannelsLast, EvalOutput.Features) { Engine = engine, FlipAverage = mirrored }.Run(Until(source.Epoch(1), stop), (batch, batchFeatures) =>
        {
            // Kept past the batch's scope: they are concatenated once all batches are through.
            features.Add(batchFeatures.MoveToOuterDisposeScope());
            labels.Add(batch.Labels.to(_device).MoveToOuterDisposeScope());
            seen += batch.Count;
            progress.Step(++b, double.NaN, double.NaN, seen / Math.Max(1e-9, clock.Elapsed.TotalSeconds), clock.Elapsed, b);
        });
        var result = features.Count > 0 ? new FeatureSet(cat(features, 0), cat(labels, 0)) : new FeatureSet(empty(0), empty(0, dtype: int64));
        foreach (var f in features) f.Dispose();
        foreach (var l in labels) l.Dispose();
        return result;
    }

    /// <summary>The batches of <paramref name="batches"/> until <paramref name="stop"/> is cancelled (the batch read then is freed).</summary>
    static IEnumerable<Batch> Until(IEnumerable<Batch> batches, CancellationToken stop)
    {
        foreach (var batch in batches)
        {
            if (stop.IsCancellationRequested) { batch.Dispose(); yield break; }
            yield return batch;
        }
    }

    /// <summary>
    /// AdamW on the head alone at training.linear_probe_lr, cosine to zero over the probe's epochs,
    /// with the run's label smoothing and weight decay. Ranks take equally many steps and average gradients, so every
    /// rank ends with the same head.
    /// </summary>
    void Fit(Tensor features, Tensor labels, int seed)
    {
        var head = model.Head;
        var parameters = head.parameters().ToList();
        // Logistic regression from zero, not from the Xavier-random head: in a short fit the random part never decays
        // away, and it cost 2 points of validation accuracy on Caltech-101 (91.6% vs 93.6% at 320 px, 30 epochs).
        using (no_grad())
            foreach (var p in parameters) p.zero_();
        double rate = t.LinearProbeLr;
        using var optimizer = new Optimizers.AdamW([new AdamW.ParamGroup(parameters, rate, t.Beta1, t.Beta2, t.Eps, t.WeightDecay, false, false)],
            rate, t.Beta1, t.Beta2, t.Eps, t.WeightDecay);
        long n = features.shape[0];
        // Every rank takes as many steps as the rank with the most features (each step all-reduces gradients): a rank
        // with fewer (a shard that lost images) goes round its own features again, as a padded sampler would.
        long steps = StepsAgreed(n);
        int batchSize = 64;
        int stepsPerEpoch = (int)((steps + batchSize - 1) / batchSize), total = stepsPerEpoch * t.LinearProbeEpochs, step = 0;
        using var generator = new Generator((ulong)seed * 7919UL + 1);
        head.train();
        for (int epoch = 0; epoch < t.LinearProbeEpochs; epoch++)
        {
            using var permutation = randperm(n, generator: generator);
            using var order = steps == n ? permutation.alias() : permutation.repeat((steps + n - 1) / n).narrow(0, 0, steps);
            for (long start = 0; start < steps; start += batchSize)
            {
                using var scope = NewDisposeScope();
                var index = order.narrow(0, start, Math.Min(batchSize, steps - start)).to(_device);
                foreach (var group in optimizer.ParamGroups) group.LearningRate = rate * (1 + Math.Cos(Math.PI * step / total)) / 2;
                optimizer.zero_grad();
                var loss = nn.functional.cross_entropy(head.call(features.index_select(0, index)), labels.index_select(0, index), label_smoothing: t.LabelSmoothing);
                loss.backward();
                collective?.AverageGradients(parameters);
                optimizer.step();
                step++;
            }
        }
    }

    /// <summary>The largest feature count over the ranks (this rank's own with one process).</summary>
    long StepsAgreed(long n)
    {
        if (collective is null) return n;
        var counts = new double[collective.WorldSize];
        counts[collective.Rank] = n;
        long most = (long)Sum(counts).Max();
        if (n == 0) throw new DatasetException($"Rank {collective.Rank} has no training image to compute probe features from, while another rank has {most}: check the data folder.");
        return most;
    }

    /// <summary>The head's mean cross-entropy and accuracy on one split's features, over all ranks.</summary>
    (double Loss, double Accuracy) Score(Tensor features, Tensor labels)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var logits = model.Head.call(features);
        double loss = features.shape[0] == 0 ? 0 : nn.functional.cross_entropy(logits, labels, reduction: nn.Reduction.Sum).ToDouble();
        var hits = logits.argmax(1).eq(labels).sum().item<long>();
        var totals = Sum([loss, hits, features.shape[0]]);
        return (totals[0] / Math.Max(1, totals[2]), totals[1] / Math.Max(1, totals[2]));
    }

    double[] Sum(double[] values) => collective is null ? values : collective.Sum(values);
}
