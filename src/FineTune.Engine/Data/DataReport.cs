using System.Text;

namespace FineTune.Data;

/// <summary>What `finetune data verify` prints: classes and counts, image sizes, and every file left out with its reason.</summary>
public sealed class DataReport(DatasetScan scan)
{
    public DatasetScan Scan { get; } = scan;
    public int UsableImages => Scan.Images.Count;

    public override string ToString()
    {
        var s = new StringBuilder();
        var counts = Scan.CountsPerClass();
        s.AppendLine($"Data folder: {Scan.Root}");
        s.AppendLine($"Classes: {Scan.Classes.Count}" + (Scan.ExcludedFolders.Count > 0 ? $" (excluded folders: {string.Join(", ", Scan.ExcludedFolders)})" : ""));
        int width = Math.Max(5, Scan.Classes.Max(c => c.Length));
        for (int c = 0; c < Scan.Classes.Count; c++)
            s.AppendLine($"  {c,4}  {Scan.Classes[c].PadRight(width)}  {counts[c],6}");
        if (Scan.Images.Count > 0)
        {
            var widths = Scan.Images.Select(i => i.Width).Order().ToArray();
            var heights = Scan.Images.Select(i => i.Height).Order().ToArray();
            s.AppendLine($"Class sizes: min {counts.Min()}, median {Median(counts.Order().ToArray())}, max {counts.Max()}");
            s.AppendLine($"Image width: min {widths[0]}, median {Median(widths)}, max {widths[^1]}; height: min {heights[0]}, median {Median(heights)}, max {heights[^1]}");
            s.AppendLine($"Grey images: {Scan.Images.Count(i => i.Grey)} (converted to RGB)");
            s.AppendLine($"Bytes on disk: {Scan.Images.Sum(i => i.Bytes) / (1024.0 * 1024):0.0} MiB");
        }
        if (Scan.HiddenFiles > 0) s.AppendLine($"Hidden files passed over: {Scan.HiddenFiles} (names or folders starting with '.': .DS_Store, ._* metadata, thumbnail folders)");
        s.AppendLine($"Problems: {Scan.Problems.Count} file(s) left out");
        foreach (var p in Scan.Problems) s.AppendLine($"  {p.RelativePath}: {p.Reason}");
        foreach (var c in Scan.EmptyClasses()) s.AppendLine($"  class '{c}': no usable image (every class needs images in each of train/val/test)");
        int copies = Scan.CopiesWithinClasses();
        if (copies > 0) s.AppendLine($"Copies: {copies} file(s) are byte-for-byte copies of another in the same class (a split keeps each with its original)");
        var shared = Scan.InSeveralClasses();
        if (shared.Count > 0) s.AppendLine($"Photos in more than one class: {shared.Count} (the same bytes under different labels; keep each in one class)");
        foreach (var group in shared) s.AppendLine($"  {string.Join(" = ", group.Select(i => i.RelativePath))}");
        s.Append($"Usable images: {UsableImages}");
        return s.ToString();
    }

    static int Median(int[] sorted) => sorted.Length == 0 ? 0 : sorted[sorted.Length / 2];
}
