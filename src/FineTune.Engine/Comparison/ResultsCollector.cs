namespace FineTune.Comparison;

/// <summary>Finds the finished experiments under an outputs folder: every <c>results.json</c> in it or below.</summary>
public static class ResultsCollector
{
    /// <summary>The results found under <paramref name="outputsFolder"/>, ordered by backbone size, then finetune before scratch, then name.</summary>
    public static IReadOnlyList<RunResult> Collect(string outputsFolder)
    {
        if (!Directory.Exists(outputsFolder))
            throw new DirectoryNotFoundException($"outputs folder {outputsFolder} does not exist; train an experiment first or pass the folder that holds the experiments");
        var files = Directory.EnumerateFiles(outputsFolder, ResultsFile.FileName,
            new EnumerationOptions { RecurseSubdirectories = true, MaxRecursionDepth = 6, IgnoreInaccessible = true });
        return Order(files.Select(ResultsFile.Read));
    }

    public static IReadOnlyList<RunResult> Order(IEnumerable<RunResult> results) => results
        .OrderBy(r => BackboneNames.Depth(r.Backbone))
        .ThenBy(r => r.Backbone, StringComparer.Ordinal)
        .ThenBy(r => r.Mode)
        .ThenBy(r => r.Experiment, StringComparer.Ordinal)
        .ToList();
}
