namespace FineTune.Tests;

/// <summary>
/// Base of test classes that call the API in-process (<see cref="Experiment.Train"/>, <see cref="Experiment.Test"/>,
/// <see cref="Classifier.Load"/>, <see cref="Experiment.TrainOnFolder"/>). Each runs the kernel check for its own request
/// and may cap oneDNN's instruction set or set libtorch's threads (training.threads) for the whole process, so these
/// classes run in a collection of their own, never beside other tests.
/// </summary>
public abstract class RestoresKernelPlan : IDisposable
{
    /// <summary>The non-parallel collection of tests that run the API in-process.</summary>
    public const string Collection = "single-threaded training";

    public void Dispose() => GC.SuppressFinalize(this);
}
