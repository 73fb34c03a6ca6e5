namespace FineTune.Config;

/// <summary>
/// Training sizes that rise epoch by epoch (progressive resizing, as fastai does it): the first epochs see smaller
/// crops and cost less (a step's work grows with the square of the side), the last ones see the final size, which
/// the evaluation size is chosen against. Linear from <paramref name="First"/> at epoch 1 to <paramref name="Last"/>
/// at epoch <paramref name="Epochs"/>; sizes between the two ends are rounded down to a multiple of 16, so that a run
/// computes at few distinct shapes (each of which the kernel check probes).
/// </summary>
public sealed record SizeSchedule(int First, int Last, int Epochs)
{
    /// <summary>The training size of epoch <paramref name="epoch"/> (1-based); epochs past the last keep the last size.</summary>
    public int For(int epoch)
    {
        if (epoch >= Epochs) return Last;
        if (epoch <= 1) return First;
        double size = First + (Last - First) * (epoch - 1) / (double)(Epochs - 1);
        return Math.Max(First, (int)size / 16 * 16);
    }

    /// <summary>Every size the schedule trains at, in epoch order, each once.</summary>
    public IReadOnlyList<int> Sizes => Enumerable.Range(1, Math.Max(1, Epochs)).Select(For).Distinct().ToList();

    public override string ToString() => string.Join(" -> ", Sizes) + " px";
}
