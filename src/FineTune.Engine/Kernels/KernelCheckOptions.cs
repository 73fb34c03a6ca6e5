namespace FineTune.Kernels;

/// <summary>
/// A program that runs the kernel check's probes in place of the one beside this program (<see cref="ProbeProcess"/>):
/// started as <see cref="FileName"/> with <see cref="Arguments"/>, then `kernel-probe --probes FILE --from N --threads T`.
/// The tests name theirs, which injects faults; the verdict is cached apart from the real probes'.
/// </summary>
public sealed record ProbeHost(string FileName, IReadOnlyList<string> Arguments)
{
    public override string ToString() => string.Join(' ', Arguments.Prepend(FileName));
}

/// <summary>
/// The test seams of a run's kernels: the check's probe host and what wraps the model's convolutions. Both default to
/// none, which is what a program wants; the tests set both to make this CPU act as a faulty one.
/// </summary>
/// <see cref="OnPlan"/> is told the plan a run computes with (under MPI: rank 0's), for tests that compare ranks.
public sealed record KernelCheckOptions(ProbeHost? Host = null, IKernelInterceptor? Interceptor = null, Action<KernelPlan>? OnPlan = null)
{
    public static KernelCheckOptions None { get; } = new();
}
