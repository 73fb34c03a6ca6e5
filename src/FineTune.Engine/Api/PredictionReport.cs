using System.Globalization;
using System.Text;
using FineTune.IO;
using FineTune.Prediction;
using FineTune.Reports;
using FineTune.Logging;
using Microsoft.Extensions.Logging;

namespace FineTune;

/// <summary>What <see cref="PredictionReport.Write(Classifier, string, PredictionReportOptions, CancellationToken)"/> writes: the flags of `finetune predict --out/--report`.</summary>
public sealed record PredictionReportOptions
{
    /// <summary>predictions.csv: one row per image, <c>path,top1,p1,...,topK,pK,error</c> (<see cref="PredictionCsv"/>); null writes none.</summary>
    public string? CsvPath { get; init; }

    /// <summary>The HTML gallery, least confident first; null writes none.</summary>
    public string? HtmlPath { get; init; }

    /// <summary>Classes per image in the CSV (the gallery always shows the top 3).</summary>
    public int TopK { get; init; } = 5;

    /// <summary>The gallery shows at most this many images, the least confident; the CSV holds them all.</summary>
    public int GalleryCap { get; init; } = PredictionReport.DefaultGalleryCap;

    /// <summary>Where a progress line goes every few thousand images; null: nowhere.</summary>
    public ILogger? Logger { get; init; }
}

/// <summary>What was written: <see cref="Images"/> rows in the CSV, of which <see cref="Failed"/> could not be classified; <see cref="Shown"/> cards in the gallery.</summary>
public sealed record PredictionReportSummary(int Images, int Failed, int Shown, string? CsvPath, string? HtmlPath);

/// <summary>
/// `finetune predict FOLDER --out predictions.csv --report predictions.html` as one call: every image of a folder through
/// a <see cref="Classifier"/> (a .ckpt or an .onnx), streamed in chunks so that memory does not grow with the folder
/// (100,000 photos are 100,000 CSV rows, but the gallery keeps only its least confident few). Unreadable files get an
/// error row and are listed in the page; they never stop the others. Both files are written atomically.
/// </summary>
public static class PredictionReport
{
    /// <summary>Cards in the gallery: a page a browser opens at once (about 3 KB of thumbnail each).</summary>
    public const int DefaultGalleryCap = 500;

    // Files handed to the classifier at a time: big enough to keep its loader busy, small enough that only one chunk's predictions are held.
    const int ChunkSize = 1024;
    const int GalleryTop = 3;

    /// <summary>Classifies every image under <paramref name="folder"/>; its CSV and page name them relative to the folder.</summary>
    /// <exception cref="FileNotFoundException">The folder does not exist or holds no image files.</exception>
    public static PredictionReportSummary Write(Classifier classifier, string folder, PredictionReportOptions options, CancellationToken cancellationToken = default)
    {
        if (!Directory.Exists(folder)) throw new FileNotFoundException($"Folder '{folder}' not found: pass a folder of images.");
        return Write(classifier, ImageFiles.InFolder(folder), options, cancellationToken);
    }

    /// <summary>Classifies <paramref name="images"/> in order (see <see cref="ImageFiles.From"/>) and writes the files <paramref name="options"/> names.</summary>
    public static PredictionReportSummary Write(Classifier classifier, IReadOnlyList<ImageToClassify> images, PredictionReportOptions options, CancellationToken cancellationToken = default)
    {
        if (options.CsvPath is null && options.HtmlPath is null) throw new ArgumentException("Name a CSV (CsvPath), an HTML gallery (HtmlPath) or both.", nameof(options));
        if (options.TopK < 1) throw new ArgumentOutOfRangeException(nameof(options), $"TopK must be 1 or more; got {options.TopK}.");
        int k = Math.Min(options.TopK, classifier.ClassNames.Count);
        var tally = new PredictionTally(options.GalleryCap);

        void ClassifyAll(Action<ImageToClassify, ImagePrediction> each)
        {
            for (int start = 0; start < images.Count; start += ChunkSize)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var chunk = images.Skip(start).Take(ChunkSize).ToList();
                var predictions = classifier.Predict([.. chunk.Select(i => i.File)], Math.Max(k, GalleryTop));
                for (int i = 0; i < chunk.Count; i++)
                {
                    each(chunk[i], predictions[i]);
                    tally.Add(chunk[i], predictions[i]);
                }
                if (images.Count > ChunkSize)
                    options.Logger?.LogInformation("{Message}", string.Create(CultureInfo.InvariantCulture, $"finetune: {start + chunk.Count:N0} of {images.Count:N0} images classified"));
            }
        }

        if (options.CsvPath is { } csv)
            AtomicWrite.With(csv, stream =>
            {
                using var w = new StreamWriter(stream, new UTF8Encoding(false), 1 << 16, leaveOpen: true);
                w.Write(PredictionCsv.Header(k));
                ClassifyAll((image, prediction) => w.Write(PredictionCsv.Row(image.Name, prediction, k)));
            });
        else ClassifyAll((_, _) => { });

        if (options.HtmlPath is { } html) PredictionGallery.Save(html, classifier.ModelPath, classifier.ClassNames.Count, tally, options.CsvPath);
        return new PredictionReportSummary(tally.Images, tally.Failed, Math.Min(tally.Cap, tally.Images - tally.Failed), options.CsvPath, options.HtmlPath);
    }
}
