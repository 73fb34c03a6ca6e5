using FineTune.Data;
using System.Diagnostics;
using FineTune.Config;
using FineTune.Models;
using FineTune.Weights;
using Xunit;
using static TorchSharp.torch;

namespace FineTune.Tests.Training;

/// <summary>Tiny real training setups: a one-block-per-stage ResNet on 32 px procedurally drawn images, seconds per run.</summary>
static class Tiny
{
    public const int Classes = 4;
    public static readonly ResNetArchitecture Architecture = new(BlockKind.Basic, [1, 1, 1, 1]);

    /// <summary>This test run's scratch space (checkpoints are megabytes): a fresh folder under <see cref="TestRunFolder"/>.</summary>
    public static string TempFolder() => TestRunFolder.New("tiny");

    /// <summary>A tiny run's config; fp32 unless <paramref name="training"/> says otherwise, so results do not depend on the CPU (auto is bf16 on some).</summary>
    public static FineTuneConfig Config(string root, int epochs = 2, Func<TrainingConfig, TrainingConfig>? training = null) =>
        new FineTuneConfig(
            new DataConfig { Source = DataSource.Synthetic, BatchSize = 8, ImageSize = 32, SyntheticImagesPerClass = 6, Seed = 3 },
            new ModelConfig { Backbone = "resnet18", Pretrained = false, NumClasses = Classes },
            (training ?? (t => t))(new TrainingConfig { NumEpochs = epochs, BaseLr = 1e-3, FcLrMultiplier = 10, Patience = 0, EarlyStopping = 0, Threads = 1,
                                                      Precision = PrecisionSetting.Fp32 }),
            new ExperimentConfig { Name = "tiny", CheckpointDir = Path.Combine(root, "ckpt"), LogDir = Path.Combine(root, "logs"), ExportPytorch = false })
        { Source = "tiny.yaml" };

    /// <summary>Initial weights per seed, drawn once per test run: see <see cref="Model"/>.</summary>
    static readonly Dictionary<int, Dictionary<string, Tensor>> InitialWeights = [];

    /// <summary>
    /// A fresh model with the same initial weights as every other <c>Model(seed)</c> of this test run. Seeding
    /// torch's generator and then building is not enough: the generator is global, and a test running in parallel
    /// can draw from it between the seed and the build (CI saw two "identical" models differ by 0.8).
    /// </summary>
    public static ResNet Model(int seed = 1)
    {
        var model = new ResNet(Architecture, Classes, TestSetup.Routing);
        model.ResetClassifier(Classes);
        lock (InitialWeights)
        {
            if (!InitialWeights.TryGetValue(seed, out var weights))
            {
                random.manual_seed(seed);
                using var template = new ResNet(Architecture, Classes, TestSetup.Routing);
                template.ResetClassifier(Classes);
                weights = template.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());
                InitialWeights[seed] = weights;
            }
            model.load_state_dict(weights);
        }
        return model;
    }

    public static TrainingData Data(FineTuneConfig config) =>
        new TrainingDataFactory().Open(config, Preprocessing.ImageNet);

    /// <summary>Largest absolute difference between two models' state dicts (parameters and buffers).</summary>
    public static double MaxDifference(ResNet a, ResNet b)
    {
        var sa = a.state_dict();
        var sb = b.state_dict();
        Assert.Equal(sa.Keys.Order(), sb.Keys.Order());
        double max = 0;
        foreach (var (key, ta) in sa)
        {
            using var diff = (ta.to(float64) - sb[key].to(float64)).abs().max();
            max = Math.Max(max, diff.item<double>());
        }
        return max;
    }
}

/// <summary>A batch source that passes another one through and lets a test act after a given batch (stop, poison).</summary>
sealed class InterceptingSource(IBatchSource inner, Func<int, int, Batch, Batch> onBatch) : IBatchSource
{
    public int ImageCount => inner.ImageCount;
    public int BatchCount => inner.BatchCount;
    public IReadOnlyList<int[]>? BatchIndices(int epoch) => inner.BatchIndices(epoch);

    public IEnumerable<Batch> Epoch(int epoch, int skipBatches = 0)
    {
        int b = skipBatches;
        foreach (var batch in inner.Epoch(epoch, skipBatches)) yield return onBatch(epoch, b++, batch);
    }

    public void Dispose() => inner.Dispose();
}

/// <summary>Runs /usr/bin/python3 (Debian's, which has python3-torch) and reports whether a module imports.</summary>
static class DebianPython
{
    public const string Path = "/usr/bin/python3";
    static readonly Dictionary<string, bool> Cache = [];

    public static bool Has(string modules)
    {
        lock (Cache)
        {
            if (Cache.TryGetValue(modules, out var known)) return known;
            bool ok = File.Exists(Path) && Run($"-c \"import {modules}\"", out _) == 0;
            return Cache[modules] = ok;
        }
    }

    public static int Run(string arguments, out string output)
    {
        var r = Processes.Run(new ProcessStartInfo(Path, arguments));
        output = r.Out + r.Err;
        return r.Code;
    }
}
