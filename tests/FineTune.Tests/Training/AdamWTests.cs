using FineTune.Training;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace FineTune.Tests.Training;

/// <summary>
/// FineTune's AdamW (Training/Optimizers/AdamW.cs) only changes how long its numbers live, not what it computes: against TorchSharp's own AdamW (the
/// reference the trainer used before) it must give bit-identical parameters over steps with two rate groups, weight
/// decay and rates changed between steps, and its saved state must load into TorchSharp's AdamW and continue
/// identically (checkpoints written before it resume after it).
/// </summary>
public sealed class AdamWTests
{
    sealed record Net(Linear Body, Linear Head) : IDisposable
    {
        public static Net Make()
        {
            torch.manual_seed(7);
            return new Net(nn.Linear(12, 6), nn.Linear(6, 3));
        }
        public Tensor Loss(Tensor x, Tensor y) => nn.functional.cross_entropy(Head.forward(nn.functional.relu(Body.forward(x))), y);
        public Tensor[] Parameters() => [.. Body.parameters(), .. Head.parameters()];
        public void Dispose() { Body.Dispose(); Head.Dispose(); }
    }

    static TorchSharp.Modules.AdamW.ParamGroup[] Groups(Net n) =>
    [
        new TorchSharp.Modules.AdamW.ParamGroup(n.Body.parameters(), 3e-3, 0.9, 0.999, 1e-8, 0.05, false, false),
        new TorchSharp.Modules.AdamW.ParamGroup(n.Head.parameters(), 1e-2, 0.9, 0.999, 1e-8, 0.05, false, false),
    ];

    static void Steps(Net n, OptimizerHelper optimizer, int from, int count)
    {
        for (int s = from; s < from + count; s++)
        {
            using var scope = NewDisposeScope();
            var g = new Generator(100UL + (ulong)s);
            var x = randn([16, 12], generator: g);
            var y = randint(0, 3, [16], generator: g);
            // Rates change between steps, as the schedules change them.
            OptimizerFactory.SetRates(optimizer, [3e-3 / (1 + s), 1e-2 / (1 + s)]);
            optimizer.zero_grad();
            n.Loss(x, y).backward();
            optimizer.step();
        }
    }

    static void AssertSame(Net a, Net b, string when)
    {
        var (pa, pb) = (a.Parameters(), b.Parameters());
        for (int i = 0; i < pa.Length; i++)
            Assert.True(pa[i].equal(pb[i]).all().item<bool>(), $"parameter {i} differs {when}: largest difference {(pa[i] - pb[i]).abs().max().item<float>():G4}");
    }

    [Fact]
    public void Steps_are_bit_identical_to_TorchSharps_AdamW()
    {
        using var ours = Net.Make();
        using var theirs = Net.Make();
        AssertSame(ours, theirs, "before any step");
        using var held = new FineTune.Training.Optimizers.AdamW(Groups(ours), 3e-3, 0.9, 0.999, 1e-8, 0.05);
        using var reference = optim.AdamW(Groups(theirs), 3e-3, 0.9, 0.999, 1e-8, 0.05);
        Steps(ours, held, 0, 6);
        Steps(theirs, reference, 0, 6);
        AssertSame(ours, theirs, "after 6 steps");
        using var start = Net.Make();
        Assert.False(ours.Parameters()[0].equal(start.Parameters()[0]).all().item<bool>(), "the steps did not move the parameters");
    }

    [Theory]
    [InlineData(true), InlineData(false)]
    public void Saved_state_moves_between_it_and_TorchSharps_AdamW_and_continues_identically(bool oursSaves)
    {
        // Both ways: its checkpoints load in TorchSharp's AdamW, and checkpoints written before it resume with it.
        using var saving = Net.Make();
        using var loading = Net.Make();
        OptimizerHelper Make(Net n, bool ours) => ours
            ? new FineTune.Training.Optimizers.AdamW(Groups(n), 3e-3, 0.9, 0.999, 1e-8, 0.05)
            : optim.AdamW(Groups(n), 3e-3, 0.9, 0.999, 1e-8, 0.05);
        using var first = Make(saving, oursSaves);
        Steps(saving, first, 0, 3);
        using (no_grad())
            foreach (var (to, from) in loading.Parameters().Zip(saving.Parameters())) to.copy_(from);

        var path = Path.Combine(Path.GetTempPath(), $"adamw-state-{Guid.NewGuid():N}.bin");
        try
        {
            first.save_state_dict(path);
            using var second = Make(loading, !oursSaves);
            second.load_state_dict(path);
            Steps(saving, first, 3, 3);
            Steps(loading, second, 3, 3);
            AssertSame(saving, loading, "after resuming from the saved state");
        }
        finally { File.Delete(path); }
    }
}
