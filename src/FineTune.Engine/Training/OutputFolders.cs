namespace FineTune.Training;

/// <summary>Raised before training starts when an output folder cannot be created or written.</summary>
public sealed class OutputNotWritableException(string message) : FineTuneException(message);

/// <summary>Checks output folders up front, so a run never trains for an hour and then fails to save.</summary>
public static class OutputFolders
{
    public static void EnsureWritable(string folder, string configKey)
    {
        try
        {
            Directory.CreateDirectory(folder);
            var probe = Path.Combine(folder, $".write-test-{Environment.ProcessId}-{Guid.NewGuid():N}");
            using (var s = new FileStream(probe, FileMode.CreateNew, FileAccess.Write)) s.WriteByte(0);
            File.Delete(probe);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new OutputNotWritableException(
                $"Cannot write to output folder '{Path.GetFullPath(folder)}' ({e.Message.TrimEnd('.')}): set {configKey} to a writable folder or fix its permissions.");
        }
    }
}
