namespace FineTune.Data;

/// <summary>A problem with a dataset a user brought (layout, class sizes, split ratios): one line naming the thing and the fix.</summary>
public sealed class DatasetException(string message) : FineTuneException(message);

/// <summary>An archive that is damaged or would write outside its target; nothing of it is left on disk.</summary>
public sealed class UnsafeArchiveException(string message) : FineTuneException(message);

/// <summary>A split manifest whose files no longer match the disk: lists the files that changed.</summary>
public sealed class ManifestMismatchException(string message, IReadOnlyList<string> changedFiles) : FineTuneException(message)
{
    public IReadOnlyList<string> ChangedFiles { get; } = changedFiles;
}
