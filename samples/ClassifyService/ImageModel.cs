using FineTune;
using FineTune.Data;
using FineTune.Inference;

namespace ClassifyService;

/// <summary>
/// The one place this sample touches FineTune: load an exported model, tell an image from other bytes, classify.
/// It uses the inference-only package FineTune.Inference (ONNX Runtime and SkiaSharp, no libtorch).
/// </summary>
/// <remarks>
/// One instance serves every request at once. That is safe because a prediction on an .onnx file keeps no state
/// between calls: <see cref="ImageClassifier"/> decodes into a fresh bitmap, renders with a fresh renderer into a fresh
/// buffer, and calls ONNX Runtime's <c>InferenceSession.Run</c>, which is documented as safe to call concurrently.
/// A .ckpt (libtorch) is refused: this sample serves exported files only.
/// </remarks>
public sealed class ImageModel : IDisposable
{
    readonly ImageClassifier _classifier;

    ImageModel(ImageClassifier classifier, string path) => (_classifier, Name) = (classifier, Path.GetFileName(path));

    /// <summary>The model file's name, as the JSON answer reports it.</summary>
    public string Name { get; }

    /// <summary>The classes the model tells apart.</summary>
    public IReadOnlyList<string> ClassNames => _classifier.ClassNames;

    /// <summary>The side of the square image the model sees.</summary>
    public int InputSize => _classifier.InputSize;

    /// <summary>Opens an exported .onnx file; anything else ends in a <see cref="ModelLoadException"/> that names the fix.</summary>
    public static ImageModel Load(string path)
    {
        if (!string.Equals(Path.GetExtension(path), ".onnx", StringComparison.OrdinalIgnoreCase))
            throw new ModelLoadException($"'{path}' is not an .onnx file: this service runs exported models; write one with `finetune export --format onnx --model_path CKPT --output model.onnx`.");
        try { return new ImageModel(ImageClassifier.Load(path), path); }
        catch (Exception e) when (e is FileNotFoundException or InvalidDataException or FineTuneException) { throw new ModelLoadException(e.Message); }
    }

    /// <summary>Whether the first bytes are those of a format the decoder reads (JPEG, PNG, GIF, BMP, WebP); the content decides, never a name or header.</summary>
    public static bool LooksLikeImage(ReadOnlySpan<byte> bytes) =>
        ImageFormatSniffer.Sniff(bytes[..Math.Min(bytes.Length, ImageFormatSniffer.HeaderLength)]) != ImageFormat.Unknown;

    /// <summary>The top <paramref name="topK"/> classes, most probable first.</summary>
    /// <exception cref="UnreadableImageException">The bytes look like an image but cannot be decoded: corrupt, truncated, or too many pixels.</exception>
    public IReadOnlyList<(string ClassName, double Probability)> Predict(byte[] image, int topK)
    {
        try
        {
            using var stream = new MemoryStream(image, writable: false);
            return [.. _classifier.Predict(stream, topK).Select(p => (p.ClassName, p.Probability))];
        }
        catch (ImageDecodeException e) { throw new UnreadableImageException(e.Message); }
    }

    public void Dispose() => _classifier.Dispose();
}

/// <summary>The model could not be opened; the message names the file and the fix.</summary>
public sealed class ModelLoadException(string message) : Exception(message);

/// <summary>An upload that looks like an image but cannot be decoded; the message says why (the decoder's words).</summary>
public sealed class UnreadableImageException(string message) : Exception(message);
