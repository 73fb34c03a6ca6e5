using System.Globalization;
using System.Text;
using FineTune.Tests.Cli;

namespace FineTune.Tests.Prediction;

/// <summary>
/// A folder of photos to predict on, as a user would point `finetune predict` at: the real PNGs and JPEGs of a
/// <see cref="FolderExperiment"/> (3 classes x 12) in class subfolders, one renamed to hold a comma and quotes, plus a
/// JPEG cut short (unreadable) and a text file (not an image). The experiment's checkpoint is the model.
/// </summary>
sealed class PhotoFolder
{
    public const string OddName = "odd, \"quoted\" name.png";
    public const string BrokenName = "broken.jpg";
    public FolderExperiment Experiment { get; } = new();
    public string Root => Experiment.Root;
    public string Photos => Path.Combine(Root, "photos");
    public string Model => Experiment.CheckpointPath;

    /// <summary>Every file that should get a row: the readable images and the broken one.</summary>
    public int ImageCount => FolderExperiment.Classes * FolderExperiment.PerClass + 1;

    public PhotoFolder()
    {
        foreach (var file in Directory.EnumerateFiles(Experiment.DataDir, "*", SearchOption.AllDirectories))
        {
            var copy = Path.Combine(Photos, Path.GetRelativePath(Experiment.DataDir, file));
            Directory.CreateDirectory(Path.GetDirectoryName(copy)!);
            File.Copy(file, copy);
        }
        var png = Directory.EnumerateFiles(Photos, "*.png", SearchOption.AllDirectories).Order(StringComparer.Ordinal).First();
        File.Move(png, Path.Combine(Path.GetDirectoryName(png)!, OddName));
        File.WriteAllBytes(Path.Combine(Photos, BrokenName), [0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, (byte)'J', (byte)'F']);
        File.WriteAllText(Path.Combine(Photos, "notes.txt"), "not an image, not named like one");
    }

    /// <summary>predictions.csv as rows of fields, read by RFC 4180's rules (quoted fields may hold commas, quotes and line breaks).</summary>
    public static List<string[]> ReadCsv(string path)
    {
        var text = File.ReadAllText(path);
        var rows = new List<string[]>();
        var row = new List<string>();
        var field = new StringBuilder();
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (c == '"' && field.Length == 0)
            {
                for (i++; !(text[i] == '"' && (i + 1 == text.Length || text[i + 1] != '"')); i++)
                    field.Append(text[i] == '"' ? text[++i] : text[i]);
            }
            else if (c == ',') { row.Add(field.ToString()); field.Clear(); }
            else if (c == '\n') { row.Add(field.ToString()); field.Clear(); rows.Add([.. row]); row.Clear(); }
            else field.Append(c);
        }
        if (field.Length > 0 || row.Count > 0) throw new InvalidDataException($"{path} does not end with a line break");
        return rows;
    }

    public static double Number(string text) => double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture);
}
