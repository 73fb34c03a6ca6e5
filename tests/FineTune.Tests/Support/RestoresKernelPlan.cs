using FineTune.Kernels;

namespace FineTune.Tests;

/// <summary>
/// Base of test classes that call the API in-process (<see cref="Experiment.Train"/>, <see cref="Experiment.Test"/>,
/// <see cref="Classifier.Load"/>, <see cref="Experiment.TrainOnFolder"/>). Each runs the kernel check for its own request,
/// which replaces <see cref="KernelPlan.Current"/> for the whole process (issue 23's hidden global). A narrower plan
/// (ResNet-18 only) would leave another test's ResNet-50 convolutions on this CPU's faulty kernels: CI's test host died
/// of it. So these classes run in a collection of their own, never beside other tests, and put the plan back after each test.
/// </summary>
public abstract class RestoresKernelPlan : IDisposable
{
    /// <summary>The non-parallel collection of tests that replace the process's kernel plan.</summary>
    public const string Collection = "single-threaded training";

    readonly KernelPlan _saved = KernelPlan.Current;

    public void Dispose()
    {
        KernelPlan.Current = _saved;
        GC.SuppressFinalize(this);
    }
}
