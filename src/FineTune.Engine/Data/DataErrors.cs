namespace FineTune.Data;

/// <summary>An archive that is damaged or would write outside its target; nothing of it is left on disk.</summary>
public sealed class UnsafeArchiveException(string message) : FineTuneException(message);

/// <summary>A split manifest whose files no longer match the disk: lists the files that changed.</summary>
public sealed class ManifestMismatchException(string message, IReadOnlyList<string> changedFiles) : FineTuneException(message)
{
    public IReadOnlyList<string> ChangedFiles { get; } = changedFiles;
}
