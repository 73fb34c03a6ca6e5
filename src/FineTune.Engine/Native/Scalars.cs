using TorchSharp;

namespace FineTune.Native;

/// <summary>
/// Numbers handed to libtorch as Scalars that live as long as the process. Why: TorchSharp makes a Scalar (a native
/// object with a finalizer) from a number for each call that takes one, including the hidden alpha of 1 in
/// <c>a.add_(b)</c> and <c>a.add(b)</c>, and passes only its handle to the native call; nothing keeps the Scalar
/// reachable while libtorch reads it, so a garbage collection on another thread (the loader's workers allocate all the
/// time) can finalize it mid-call. CI saw it once: the folded BatchNorm's <c>bias.add_(bn.bias)</c> aborted the process
/// with libtorch's "Expected false to be true" from <c>Scalar::toFloat</c>. These, held in static fields, are never
/// finalized; for a number known only at the call, <c>using var s = x.ToScalar();</c> keeps it alive to the end of the scope.
/// Model code that runs per layer or per batch passes them explicitly (<c>y.add_(identity, Scalars.One)</c>);
/// <c>sub</c> takes no alpha, so <c>a.sub(b)</c> and <c>a - b</c> make no Scalar.
/// </summary>
public static class Scalars
{
    public static readonly Scalar One = 1.ToScalar();
    public static readonly Scalar Two = 2.ToScalar();
}
