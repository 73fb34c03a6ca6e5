using System.Text.Json;
using FineTune.Data;
using FineTune.Weights;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using SkiaSharp;

namespace FineTune.Prediction;

/// <summary>
/// Classifies images with a file written by `finetune export --format onnx`, through ONNX Runtime alone (no libtorch):
/// the file's metadata gives the class names, input size and resize; images are decoded and resized exactly as
/// FineTune's own loader does (same decoder, same antialiased resampler), then fed as RGB 0..1.
/// Thread-safe: ONNX Runtime's Run may be called concurrently, and every call renders into buffers of its own.
/// </summary>
public sealed class OnnxClassifier : IDisposable
{
    readonly InferenceSession _session;
    public IReadOnlyList<string> ClassNames { get; }
    public EvalTransform Eval { get; }
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>The renderer's preprocessing for the graph's input: RGB, pixel / 255, nothing else (the graph does the rest).</summary>
    static Preprocessing Rgb01(int size) => new(size, 1f, ChannelOrder.Rgb, [0f, 0f, 0f], [1f, 1f, 1f]);

    OnnxClassifier(InferenceSession session, string path)
    {
        _session = session;
        Metadata = session.ModelMetadata.CustomMetadataMap;
        string Need(string key) => Metadata.TryGetValue(key, out var v) ? v
            : throw new InvalidDataException($"'{path}' has no '{key}' metadata, so it was not written by `finetune export --format onnx`: export the checkpoint again with it.");
        ClassNames = JsonSerializer.Deserialize<string[]>(Need(OnnxModelFile.ClassNamesKey)) ?? [];
        int size = int.Parse(Need(OnnxModelFile.InputSizeKey), System.Globalization.CultureInfo.InvariantCulture);
        var mode = Need(OnnxModelFile.ResizeKey) == "center_crop" ? ResizeMode.CenterCrop : ResizeMode.Stretch;
        double crop = Metadata.TryGetValue(OnnxModelFile.CropFractionKey, out var c) ? double.Parse(c, System.Globalization.CultureInfo.InvariantCulture) : 0.875;
        Eval = new EvalTransform(size, mode, crop);
    }

    /// <summary>Opens an exported ONNX file; a missing or unreadable file ends in one message that names it.</summary>
    public static OnnxClassifier Open(string path, int threads = 0)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"ONNX model '{path}' not found: write one with `finetune export --format onnx --model_path CKPT --output {Path.GetFileName(path)}`.");
        var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        if (threads > 0) options.IntraOpNumThreads = threads;
        InferenceSession session;
        try { session = new InferenceSession(path, options); }
        catch (OnnxRuntimeException e)
        {
            throw new InvalidDataException($"'{path}' is not a readable ONNX model ({e.Message.Split('\n')[0]}): export it again with `finetune export --format onnx`.");
        }
        try { return new OnnxClassifier(session, path); }
        catch { session.Dispose(); throw; }
    }

    /// <summary>Logits and probabilities for a batch of RGB 0..1 images, [n, 3, size, size] row-major.</summary>
    public (float[][] Logits, float[][] Probabilities) Run(float[] images, int n)
    {
        int size = Eval.Size, classes = ClassNames.Count;
        var input = new DenseTensor<float>(images.AsMemory(0, n * 3 * size * size), [n, 3, size, size]);
        using var results = _session.Run([NamedOnnxValue.CreateFromTensor(OnnxModelFile.InputName, input)]);
        float[][] Rows(string name)
        {
            var flat = results.First(r => r.Name == name).AsEnumerable<float>().ToArray();
            return Enumerable.Range(0, n).Select(i => flat.AsSpan(i * classes, classes).ToArray()).ToArray();
        }
        return (Rows(OnnxModelFile.LogitsName), Rows(OnnxModelFile.ProbabilitiesName));
    }

    /// <summary>The top <paramref name="topK"/> classes of each image, in order; an unreadable image gets its error.</summary>
    public List<ImagePrediction> Predict(IReadOnlyList<string> paths, int topK, int batchSize)
    {
        int plane = 3 * Eval.Size * Eval.Size;
        var predictions = new List<ImagePrediction>(paths.Count);
        using var renderer = CreateRenderer();
        var buffer = new float[Math.Min(batchSize, Math.Max(1, paths.Count)) * plane];
        for (int start = 0; start < paths.Count; start += batchSize)
        {
            var chunk = paths.Skip(start).Take(batchSize).ToList();
            var rendered = new List<string>();
            var errors = new Dictionary<string, string>();
            foreach (var path in chunk)
            {
                try { Render(renderer, path, buffer.AsSpan(rendered.Count * plane, plane)); rendered.Add(path); }
                catch (Exception e) when (e is ImageDecodeException or IOException or UnauthorizedAccessException) { errors[path] = e.Message; }
            }
            var probabilities = rendered.Count > 0 ? Run(buffer, rendered.Count).Probabilities : [];
            foreach (var path in chunk)
            {
                int i = rendered.IndexOf(path);
                predictions.Add(i >= 0
                    ? new ImagePrediction(path, PredictionFormat.TopK(probabilities[i], [.. ClassNames], topK))
                    : ImagePrediction.Failed(path, errors[path]));
            }
        }
        return predictions;
    }

    /// <summary>Decodes <paramref name="path"/> and draws it through the evaluation resize as RGB 0..1 into <paramref name="destination"/>.</summary>
    public void Render(ImageRenderer renderer, string path, Span<float> destination) => Render(renderer, File.ReadAllBytes(path), destination);

    /// <summary>Decodes <paramref name="bytes"/> and draws it through the evaluation resize as RGB 0..1 into <paramref name="destination"/> (<see cref="ImageRenderer.RenderEncoded"/>).</summary>
    /// <exception cref="ImageDecodeException">The bytes are empty, not an image, corrupt, or too many pixels.</exception>
    public void Render(ImageRenderer renderer, byte[] bytes, Span<float> destination) => renderer.RenderEncoded(bytes, Eval, destination);

    /// <summary>The top <paramref name="topK"/> classes of one encoded image (JPEG, PNG, GIF, BMP, WebP).</summary>
    /// <exception cref="ImageDecodeException">The bytes are not an image this program can decode, or too large.</exception>
    public IReadOnlyList<ClassProbability> Predict(byte[] image, int topK)
    {
        var pixels = new float[3 * Eval.Size * Eval.Size];
        using (var renderer = CreateRenderer()) Render(renderer, image, pixels);
        return TopK(pixels, topK);
    }

    /// <summary>The top <paramref name="topK"/> classes of an opaque RGBA bitmap (<see cref="ImageDecoder.ToOpaqueRgba"/>), drawn at its full size.</summary>
    public IReadOnlyList<ClassProbability> Predict(SKBitmap opaqueRgba, int topK)
    {
        var pixels = new float[3 * Eval.Size * Eval.Size];
        using (var renderer = CreateRenderer()) renderer.Render(opaqueRgba, Eval, pixels);
        return TopK(pixels, topK);
    }

    IReadOnlyList<ClassProbability> TopK(float[] onePicture, int topK) => PredictionFormat.TopK(Run(onePicture, 1).Probabilities[0], ClassNames, topK);

    /// <summary>A renderer producing this model's input (RGB 0..1 at its size).</summary>
    public ImageRenderer CreateRenderer() => new(Rgb01(Eval.Size));

    public void Dispose() => _session.Dispose();
}
