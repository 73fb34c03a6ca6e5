using FineTune.Data;
using FineTune.Prediction;
using SkiaSharp;

namespace FineTune.Inference;

/// <summary>
/// Classifies images with a model exported by `finetune export --format onnx`, on ONNX Runtime alone (no libtorch): the
/// file's metadata gives the class names, input size and resize, and every image goes through the same decode (size and
/// decompression-bomb limits) and evaluation resize as `finetune predict`, so the answers are the same.
/// <para>
/// Thread-safe: one instance may serve <see cref="Predict(Stream, int)"/> and the other overloads from many threads at
/// once (a web service loads it once). ONNX Runtime's Run is safe to call concurrently, and each call decodes and resizes
/// into buffers of its own; nothing shared is written after <see cref="Load"/>.
/// </para>
/// </summary>
public sealed class ImageClassifier : IDisposable
{
    readonly OnnxClassifier _onnx;
    readonly int _batchSize;

    /// <summary>The classes the model tells apart, in the order of its outputs.</summary>
    public IReadOnlyList<string> ClassNames => _onnx.ClassNames;

    /// <summary>The side of the square image the model sees (after the evaluation resize).</summary>
    public int InputSize => _onnx.Eval.Size;

    /// <summary>The .onnx file the model was loaded from.</summary>
    public string ModelPath { get; }

    /// <summary>The file's metadata as written by the export: class names, input size, resize, backbone, weights, version.</summary>
    public IReadOnlyDictionary<string, string> Metadata => _onnx.Metadata;

    ImageClassifier(string path, OnnxClassifier onnx, int batchSize) => (ModelPath, _onnx, _batchSize) = (path, onnx, batchSize);

    /// <summary>Opens an exported .onnx file; <paramref name="batchSize"/> is how many images of a list go through the model at once.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not an ONNX model written by `finetune export --format onnx`.</exception>
    public static ImageClassifier Load(string onnxPath, int batchSize = 32)
    {
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), $"batchSize must be 1 or more; got {batchSize}.");
        return new ImageClassifier(onnxPath, OnnxClassifier.Open(onnxPath), batchSize);
    }

    /// <summary>The top <paramref name="topK"/> classes of one image file, most probable first.</summary>
    /// <exception cref="ImageDecodeException">The file cannot be read, or is empty, not an image, corrupt or too large (a decompression bomb).</exception>
    public IReadOnlyList<ClassProbability> Predict(string imagePath, int topK = 5)
    {
        var prediction = Predict([imagePath], topK)[0];
        return prediction.Error is null ? prediction.TopK : throw new ImageDecodeException($"'{imagePath}': {prediction.Error}");
    }

    /// <summary>The top <paramref name="topK"/> classes of an encoded image (JPEG, PNG, GIF, BMP, WebP) read from <paramref name="image"/>; the same answer as for the file it came from.</summary>
    /// <exception cref="ImageDecodeException">The bytes are empty, not an image, corrupt or too large (a decompression bomb).</exception>
    public IReadOnlyList<ClassProbability> Predict(Stream image, int topK = 5)
    {
        using var buffer = new MemoryStream();
        image.CopyTo(buffer);
        return _onnx.Predict(buffer.ToArray(), topK);
    }

    /// <summary>
    /// The top <paramref name="topK"/> classes of a decoded image, taken as it is; transparent pixels count as white.
    /// <c>SKBitmap.Decode</c> leaves a phone's portrait photo sideways (its EXIF orientation unapplied): pass the file or
    /// its bytes instead, which are turned upright as in training.
    /// </summary>
    public IReadOnlyList<ClassProbability> Predict(SKBitmap image, int topK = 5)
    {
        using var rgba = ImageDecoder.ToOpaqueRgba(image);
        return _onnx.Predict(rgba, topK);
    }

    /// <summary>
    /// The top <paramref name="topK"/> classes of each file, in the order given, in batches; a file that cannot be read or
    /// decoded gets its <see cref="ImagePrediction.Error"/> instead of failing the others.
    /// </summary>
    public List<ImagePrediction> Predict(IReadOnlyList<string> imagePaths, int topK = 5) => _onnx.Predict(imagePaths, topK, _batchSize);

    public void Dispose() => _onnx.Dispose();
}
