using System.Formats.Tar;
using System.IO.Compression;
using System.Runtime.InteropServices;
using System.Text.Json;
using FineTune.Data;
using FineTune.Prediction;
using FineTune.Tests.Config;
using FineTune.Tests.Training;
using Xunit;
using Xunit.Abstractions;

namespace FineTune.Tests.Export;

/// <summary>
/// The exports, fed real Caltech-101 photographs of their own sizes and aspect ratios the way their users would feed
/// them, classify as `finetune predict` does on the checkpoint. The other export tests feed images already at the
/// evaluation size, where every runtime sees the same pixels; here each resizes on its own, so what is measured is
/// how far another program's pixels move the answer. docs/export.md quotes these numbers.
/// </summary>
public sealed class ExportFaithfulnessTests(ITestOutputHelper output)
{
    // Four classes whose photographs are landscape (car_side 1.52), portrait (minaret down to 0.44) and both (ketch, bonsai);
    // 129 of the 441 are greyscale JPEGs.
    static readonly string[] Classes = ["bonsai", "car_side", "ketch", "minaret"];

    [CaltechExportFact]
    public void Every_export_classifies_caltech_photographs_of_any_size_as_the_checkpoint_does()
    {
        var dir = Tiny.TempFolder();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var sample = Task.Run(() => Processes.Run("dotnet", ["build", RepoFiles.Path("samples", "OnnxClassify", "OnnxClassify.csproj"),
            "-c", "Release", "-o", Path.Combine(dir, "sample"), "-v", "q", "-nologo"], dir));
        var (checkpoint, photos) = TrainLinearProbe(dir);
        var onnx = Path.Combine(dir, "model.onnx");
        var pth = Path.Combine(dir, "model.pth");
        FinetuneProgram.Run(dir, "export", "--format", "onnx", "--model_path", checkpoint, "--output", onnx).Succeeded();
        FinetuneProgram.Run(dir, "export", "--format", "pth", "--model_path", checkpoint, "--output", pth).Succeeded();
        string[] topAll = ["--json", "--topk", Classes.Length.ToString()];
        output.WriteLine($"{photos.Count} test photographs, {PhotoSizes(photos)}; eval size {EvalSize} px, stretch");

        // (a) The reference: `finetune predict` on the checkpoint, in fp32 as every export computes.
        var reference = PredictJson(FinetuneProgram.Run(dir, ["predict", "--model_path", checkpoint, "--precision", "fp32", .. topAll, .. photos]).Succeeded().Out);
        var onnxOwnPixels = PredictJson(FinetuneProgram.Run(dir, ["predict", "--model_path", onnx, .. topAll, .. photos]).Succeeded().Out);

        // (b) A Python user: PIL decodes and resizes as the file's metadata says, /255; the ONNX graph does the rest.
        var pil = PilPixels(dir, onnx, photos);
        using var classifier = OnnxClassifier.Open(onnx);
        var onnxPil = Classify(classifier, photos, pil);
        // Why PIL's pixels are not FineTune's: JPEGs that FineTune decodes at a reduced scale (libjpeg's scaled IDCT).
        var fullDecode = Classify(classifier, photos, ComparePixels(classifier, photos, pil));
        var (fullAgree, fullWorst, _) = Compare(reference, fullDecode);
        output.WriteLine($"ONNX on FineTune's pixels from a full-size decode: top-1 agrees on {fullAgree}/{photos.Count}; largest probability difference {fullWorst:G3}");

        // (c) tools/pytorch/load_export.py, PIL inside; (d) samples/OnnxClassify, SkiaSharp's mipmapped resize.
        var pyTorch = PredictJson(Python($"{RepoFiles.Path("tools", "pytorch", "load_export.py")} {pth} {string.Join(' ', photos)} --topk {Classes.Length} --json"));
        var build = sample.Result;
        Assert.True(build.Code == 0, build.Out + build.Err);
        var run = Processes.Run("dotnet", [Path.Combine(dir, "sample", "OnnxClassify.dll"), onnx, .. photos], dir).Succeeded();
        var sampleApp = run.Out.TrimEnd('\n').Split('\n').Select(l => l.Split('\t')).GroupBy(f => f[0])
            .ToDictionary(g => g.Key, g => Ordered(g.Select(f => (f[1], double.Parse(f[2], System.Globalization.CultureInfo.InvariantCulture)))));

        // Measured 7e-7, 0.096, 0.096 and 0.106 with every top-1 equal (docs/export.md): the bounds leave about 1.5x for
        // other JPEG and PIL builds. The decode, not the network, sets them (the last check below).
        var bounds = new (string What, Dictionary<string, float[]> Probabilities, double MaxDifference, int MaxTop1Disagreements)[]
        {
            ("finetune predict model.onnx (FineTune's own pixels)", onnxOwnPixels, 1e-4, 0),
            ("ONNX Runtime on PIL-resized pixels", onnxPil, 0.15, 2),
            ("tools/pytorch/load_export.py (PIL)", pyTorch, 0.15, 2),
            ("samples/OnnxClassify (SkiaSharp mipmaps)", sampleApp, 0.2, 3),
        };
        output.WriteLine($"everything above took {clock.Elapsed:m\\:ss}");
        var failures = new List<string>();
        foreach (var (what, probabilities, bound, disagreements) in bounds)
        {
            var (agree, worst, worstPhoto) = Compare(reference, probabilities);
            output.WriteLine($"{what}: top-1 agrees on {agree}/{photos.Count}; largest probability difference {worst:G3} ({Path.GetFileName(Path.GetDirectoryName(worstPhoto))}/{Path.GetFileName(worstPhoto)}); bound {bound}, at most {disagreements} disagreements");
            if (worst > bound || photos.Count - agree > disagreements) failures.Add(what);
        }
        // The same PIL pixels through both runtimes: what is left between (b) and (c) is the network, which must agree.
        var (same, runtimes, _) = Compare(onnxPil, pyTorch);
        output.WriteLine($"ONNX Runtime vs PyTorch on the same PIL pixels: top-1 agrees on {same}/{photos.Count}; largest probability difference {runtimes:G3}");
        Assert.True(runtimes < 1e-4 && same == photos.Count, $"ONNX and PyTorch differ by {runtimes:G3} on identical pixels");
        Assert.True(failures.Count == 0, "over their bounds: " + string.Join("; ", failures));
    }

    const int EvalSize = 128;

    /// <summary>The four classes out of the archive, a linear probe on the bundled ResNet-18 (1 epoch with the backbone frozen), and the test split's photographs.</summary>
    (string Checkpoint, List<string> Photos) TrainLinearProbe(string dir)
    {
        var data = Path.Combine(dir, "data");
        using (var file = File.OpenRead(CaltechArchiveFactAttribute.Archive!))
        using (var gzip = new GZipStream(file, CompressionMode.Decompress))
        using (var tar = new TarReader(gzip))
        {
            while (tar.GetNextEntry() is { } entry)
            {
                var parts = entry.Name.Split('/');
                if (entry.DataStream is null || parts.Length != 3 || !Classes.Contains(parts[1])) continue;
                Directory.CreateDirectory(Path.Combine(data, parts[1]));
                entry.ExtractToFile(Path.Combine(data, parts[1], parts[2]), overwrite: false);
            }
        }
        File.WriteAllText(Path.Combine(dir, "probe.yaml"), $"""
            data:
              data_dir: {data}
              train_size: 0.5
              val_size: 0.2
              test_size: 0.3
              image_size: 112
              eval_image_size: {EvalSize}
              batch_size: 32
              num_workers: 2
            model:
              backbone: resnet18
              weights: bundled
              num_classes: {Classes.Length}
            training:
              num_epochs: 1
              linear_probe_epochs: 3
              freeze_stages: 4
              scheduler: none
              early_stopping: 0
              precision: fp32
              threads: 2
            experiment:
              name: probe
              checkpoint_dir: {dir}/ckpt
              log_dir: {dir}/logs
              export_pytorch: false
            """);
        var train = FinetuneProgram.Run(dir, "train", "--config", "probe.yaml").Succeeded();
        output.WriteLine(train.Out.Split('\n').FirstOrDefault(l => l.StartsWith("Linear probe: ", StringComparison.Ordinal) && l.Contains("epochs", StringComparison.Ordinal)));
        var experiment = Path.Combine(dir, "ckpt", "probe");
        var photos = SplitManifest.Load(experiment).Of(Split.Test).Select(e => Path.Combine(data, e.Path)).ToList();
        Assert.True(photos.Count >= 100, $"{photos.Count} test photographs");
        return (Path.Combine(experiment, "checkpoint_best.ckpt"), photos);
    }

    /// <summary>RGB 0..1 [n, 3, S, S] as a Python user makes it: docs/export.md's recipe, run by Debian's PIL.</summary>
    float[] PilPixels(string dir, string onnx, List<string> photos)
    {
        var list = Path.Combine(dir, "photos.txt");
        File.WriteAllLines(list, photos);
        var script = Path.Combine(dir, "pil_pixels.py");
        File.WriteAllText(script, """
            import sys
            import numpy as np, onnx
            from PIL import Image

            model, photo_list, out = sys.argv[1:4]
            meta = {p.key: p.value for p in onnx.load(model).metadata_props}
            size, resize, crop = int(meta["input_size"]), meta["resize"], float(meta["crop_fraction"])

            def pixels(path):
                with Image.open(path) as image:
                    image = image.convert("RGB")
                    w, h = image.size
                    box = (0, 0, w, h)
                    if resize == "center_crop":
                        side = min(w, h) * crop
                        box = ((w - side) / 2, (h - side) / 2, (w + side) / 2, (h + side) / 2)
                    image = image.resize((size, size), Image.BILINEAR, box=box)
                return (np.asarray(image, dtype=np.float32) / 255).transpose(2, 0, 1)

            paths = open(photo_list).read().split("\n")
            np.stack([pixels(p) for p in paths if p]).astype(np.float32).tofile(out)
            """);
        var raw = Path.Combine(dir, "pil.f32");
        Python($"{script} {onnx} {list} {raw}");
        var floats = MemoryMarshal.Cast<byte, float>(File.ReadAllBytes(raw)).ToArray();
        Assert.Equal(photos.Count * 3 * EvalSize * EvalSize, floats.Length);
        return floats;
    }

    static Dictionary<string, float[]> Classify(OnnxClassifier classifier, List<string> photos, float[] pixels)
    {
        int plane = 3 * EvalSize * EvalSize;
        var result = new Dictionary<string, float[]>();
        for (int start = 0; start < photos.Count; start += 32)
        {
            int n = Math.Min(32, photos.Count - start);
            var probabilities = classifier.Run(pixels.AsSpan(start * plane, n * plane).ToArray(), n).Probabilities;
            for (int i = 0; i < n; i++) result[photos[start + i]] = probabilities[i];
        }
        return result;
    }

    /// <summary>
    /// Prints where PIL's pixels and FineTune's part: FineTune's own render, and the same from a full-size decode (no JPEG
    /// DCT scaling); returns the latter, [n, 3, S, S].
    /// </summary>
    float[] ComparePixels(OnnxClassifier classifier, List<string> photos, float[] pil)
    {
        int plane = 3 * EvalSize * EvalSize, reduced = 0;
        double ownMax = 0, ownSum = 0, fullMax = 0, fullSum = 0;
        var own = new float[plane];
        var fullDecode = new float[photos.Count * plane];
        using var renderer = classifier.CreateRenderer();
        for (int i = 0; i < photos.Count; i++)
        {
            classifier.Render(renderer, photos[i], own);
            var full = fullDecode.AsSpan(i * plane, plane);
            using var bitmap = ImageDecoder.DecodeRgba(File.ReadAllBytes(photos[i]));
            var random = new SplitMix64(0);
            renderer.Render(bitmap, 1f, classifier.Eval.Plan(bitmap.Width, bitmap.Height, ref random), full);
            using (var scaled = ImageDecoder.DecodeRgba(File.ReadAllBytes(photos[i]), desiredScale: classifier.Eval.Plan(bitmap.Width, bitmap.Height, ref random).RequiredSourceScale))
                if (scaled.Width < bitmap.Width) reduced++;
            for (int k = 0; k < plane; k++)
            {
                double p = pil[i * plane + k], a = Math.Abs(own[k] - p), b = Math.Abs(full[k] - p);
                ownMax = Math.Max(ownMax, a); ownSum += a; fullMax = Math.Max(fullMax, b); fullSum += b;
            }
        }
        double count = (double)plane * photos.Count;
        output.WriteLine($"pixels, PIL vs FineTune (0..255): largest {255 * ownMax:F2}, mean {255 * ownSum / count:F3}; "
                         + $"from a full-size decode: largest {255 * fullMax:F2}, mean {255 * fullSum / count:F3} (FineTune decoded {reduced} of them at a reduced JPEG scale)");
        return fullDecode;
    }

    static Dictionary<string, float[]> PredictJson(string json)
    {
        using var document = JsonDocument.Parse(json[json.IndexOf('[')..]);
        return document.RootElement.EnumerateArray().ToDictionary(r => r.GetProperty("path").GetString()!,
            r => Ordered(r.GetProperty("predictions").EnumerateArray().Select(p => (p.GetProperty("class").GetString()!, p.GetProperty("probability").GetDouble()))));
    }

    /// <summary>Probabilities in <see cref="Classes"/> order (every output lists all of them).</summary>
    static float[] Ordered(IEnumerable<(string Class, double Probability)> predictions)
    {
        var byClass = predictions.ToDictionary(p => p.Class, p => (float)p.Probability);
        return [.. Classes.Select(c => byClass[c])];
    }

    static (int Agree, double Worst, string WorstPhoto) Compare(Dictionary<string, float[]> reference, Dictionary<string, float[]> other)
    {
        int agree = 0;
        double worst = -1;
        string worstPhoto = "";
        foreach (var (photo, expected) in reference)
        {
            var actual = other[photo];
            if (Array.IndexOf(expected, expected.Max()) == Array.IndexOf(actual, actual.Max())) agree++;
            double d = expected.Zip(actual, (e, a) => (double)Math.Abs(e - a)).Max();
            if (d > worst) (worst, worstPhoto) = (d, photo);
        }
        return (agree, worst, worstPhoto);
    }

    static string PhotoSizes(List<string> photos)
    {
        var sizes = photos.Select(p => { using var codec = SkiaSharp.SKCodec.Create(p); return (codec.Info.Width, codec.Info.Height); }).ToList();
        var ratios = sizes.Select(s => (double)s.Width / s.Height).ToList();
        return $"{sizes.Min(s => s.Width)}-{sizes.Max(s => s.Width)} x {sizes.Min(s => s.Height)}-{sizes.Max(s => s.Height)} px, aspect {ratios.Min():F2}-{ratios.Max():F2}";
    }

    /// <summary>Debian's python3; its stdout alone (a warning on stderr would not parse as JSON).</summary>
    static string Python(string arguments) =>
        Processes.Run(new System.Diagnostics.ProcessStartInfo(DebianPython.Path, arguments)).Succeeded().Out;
}
