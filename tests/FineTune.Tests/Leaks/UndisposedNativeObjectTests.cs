using FineTune.Data;
using FineTune.Tests.Data;
using FineTune.Weights;
using Xunit;

namespace FineTune.Tests.Leaks;

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class AloneCollection
{
    public const string Name = "alone: counts the whole process's finalizable objects";
}

/// <summary>
/// Native objects (tensors, generators) that the code forgets to dispose are left to the finalizer. TorchSharp's
/// Dispose suppresses finalization, so after a full collection the objects waiting for their finalizer are exactly
/// the ones nobody disposed. The count is process-wide (the test host's threads add a few), so these tests run alone.
/// </summary>
[Collection(AloneCollection.Name)]
public class UndisposedNativeObjectTests
{
    /// <summary>Objects with a pending finalizer left behind by <paramref name="action"/> (run twice: the first warms up caches).</summary>
    static long FinalizersLeftBy(Action action)
    {
        action();
        FinalizeEarlierGarbage();
        action();
        GC.Collect();
        return GC.GetGCMemoryInfo(GCKind.FullBlocking).FinalizationPendingCount;
    }

    /// <summary>
    /// Runs the finalizers of everything already unreachable (earlier tests' forgotten tensors among them), so that the
    /// finalizer thread does not free them in the middle of a measured call and make a live-tensor count drop. A count
    /// taken after the call is read without collecting: collecting there would hide a leak.
    /// </summary>
    static void FinalizeEarlierGarbage()
    {
        GC.Collect(); GC.WaitForPendingFinalizers(); GC.Collect(); GC.WaitForPendingFinalizers();
    }

    [Fact]
    public void Synthetic_images_dispose_their_random_generator()
    {
        // 200 draws: a generator left to the finalizer each time would leave 200 objects, far above the few the
        // test host's own threads leave in the same moment (about 10 here).
        const int draws = 200;
        var left = FinalizersLeftBy(() =>
        {
            for (int i = 0; i < draws; i++)
            {
                var (phase, tint, noise) = SyntheticImages.RandomDraws(n: 6, size: 8, seed: i);
                phase.Dispose(); tint.Dispose(); noise.Dispose();
            }
        });
        Assert.True(left < draws / 2, $"{left} objects were left to the finalizer after {draws} draws");
    }

    [Fact]
    public void A_batch_shortened_by_an_unreadable_file_leaves_no_tensor_behind()
    {
        var data = ImageDataset.FromScan(DatasetScan.Run(TestFiles.Dataset(3, 3)));
        File.WriteAllBytes(data.Samples[1].FullPath, []); // broken after the scan: its batch is narrowed to the rows kept
        using var loader = new DataLoader(data, new EvalTransform(Size: 8), Preprocessing.ImageNet, new LoaderOptions(BatchSize: 3, NumWorkers: 1, Shuffle: false));
        foreach (var batch in loader.Epoch(0)) batch.Dispose(); // warm-up
        FinalizeEarlierGarbage();
        long before = TorchSharp.torch.Tensor.TotalCount;
        foreach (var batch in loader.Epoch(1)) batch.Dispose();
        Assert.Equal(before, TorchSharp.torch.Tensor.TotalCount);
    }

    [Fact]
    public void Grad_cam_leaves_no_tensor_behind()
    {
        using var model = FineTune.Tests.Training.Tiny.Model();
        using var images = TorchSharp.torch.rand(3, 3, 32, 32);
        var gradCam = new FineTune.Evaluation.GradCam(model, TorchSharp.torch.CPU);
        gradCam.Compute(images, [0, 1, 2]); // warm-up
        FinalizeEarlierGarbage();
        long before = TorchSharp.torch.Tensor.TotalCount;
        gradCam.Compute(images, [0, 1, 2]);
        Assert.Equal(before, TorchSharp.torch.Tensor.TotalCount);
    }
}
