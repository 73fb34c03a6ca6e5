namespace FineTune.Weights;

/// <summary>A problem with pretrained weights a user can fix; the message names the file and the fix (the CLI prints it as one line).</summary>
public abstract class WeightsException(string message) : FineTuneException(message);

/// <summary>Weights that should be at hand are not; the message says where they were looked for and how to get them.</summary>
public sealed class WeightsNotFoundException(string message) : WeightsException(message);

/// <summary>A file that cannot be read as a state dict (legacy PyTorch format, corrupt, not tensors).</summary>
public sealed class WeightsFormatException(string message) : WeightsException(message);

/// <summary>A pickle that would build something other than tensors and plain containers; it is refused, never run.</summary>
public sealed class UnsafePickleException(string message) : WeightsException(message);

/// <summary>A download that arrived but is not the file torchvision published (hash mismatch).</summary>
public sealed class WeightsDownloadException(string message) : WeightsException(message);
