namespace FineTune.IO;

/// <summary>The folder FineTune keeps what it fetches and works out once per machine (weights, converted weights, kernel checks).</summary>
public static class FineTuneHome
{
    /// <summary>FINETUNE_HOME, else ~/.cache/finetune.</summary>
    public static string Folder =>
        Environment.GetEnvironmentVariable("FINETUNE_HOME") is { Length: > 0 } home
            ? home
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "finetune");
}
