namespace FineTune.Distributed;

/// <summary>
/// A distributed run that cannot start or go on (no MPI library, a failed MPI call, a mismatch between ranks).
/// The message is one sentence that names the thing and the fix; the CLI prints it as one line.
/// </summary>
public sealed class DistributedException(string message) : FineTuneException(message);
