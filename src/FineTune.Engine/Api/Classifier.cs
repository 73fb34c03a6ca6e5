using FineTune.Data;
using FineTune.Evaluation;
using FineTune.Export;
using FineTune.Inference;
using FineTune.Kernels;
using FineTune.Models;
using FineTune.Native;
using FineTune.Prediction;
using FineTune.Training;
using FineTune.Training.Checkpoints;
using FineTune.Weights;
using SkiaSharp;
using TorchSharp;
using static TorchSharp.torch;
using FineTune.Logging;

namespace FineTune;

/// <summary>
/// A trained model that classifies images, as `finetune predict` does: class names, preprocessing and the evaluation
/// resize come from the checkpoint (or from the metadata of an .onnx file written by `finetune export --format onnx`,
/// which runs on ONNX Runtime without libtorch). No dataset or config is needed.
/// </summary>
public sealed class Classifier : IDisposable
{
    readonly ResNet? _model;
    readonly ImageClassifier? _onnx;
    // No libtorch value may be touched on the ONNX path: an .onnx file runs where libtorch cannot load.
    readonly Device? _device;
    readonly Preprocessing? _preprocessing;
    readonly EvalTransform? _transform;
    readonly int _batchSize;
    readonly KeptSessionEngine? _engine;
    /// <summary>The checkpoint's data.augmentation.eval_flip: each image classified with its mirror image, as validation and `test` did.</summary>
    readonly bool _flip;

    /// <summary>The classes the model tells apart, in the order of its outputs.</summary>
    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>The file the model was loaded from (a .ckpt or an .onnx).</summary>
    public string ModelPath { get; }

    /// <summary>The side of the square image the model sees (after the evaluation resize).</summary>
    public int InputSize => _onnx?.InputSize ?? _transform!.Size;

    Classifier(string path, ResNet model, Device device, CheckpointInfo info, Preprocessing preprocessing, EvaluationSettings settings, int batchSize, KeptSessionEngine? engine)
    {
        (ModelPath, _model, _device, _preprocessing, _transform, _flip, _batchSize, _engine) = (path, model, device, preprocessing, settings.ToTransform(), settings.Flip, batchSize, engine);
        ClassNames = info.ClassNames;
    }

    /// <summary>An .onnx file: FineTune.Inference's classifier does all the work (the graph normalises).</summary>
    Classifier(ImageClassifier onnx)
    {
        (ModelPath, _onnx) = (onnx.ModelPath, onnx);
        ClassNames = onnx.ClassNames;
    }

    /// <summary>
    /// Opens a checkpoint (.ckpt, on libtorch after the kernel check) or an exported .onnx file (on ONNX Runtime).
    /// </summary>
    /// <exception cref="DeviceNotAvailableException"><see cref="ClassifierOptions.Gpu"/> cannot be used (or was given for an .onnx file).</exception>
    public static Classifier Load(string path, ClassifierOptions? options = null)
    {
        options ??= new ClassifierOptions();
        if (options.BatchSize < 1) throw new ArgumentOutOfRangeException(nameof(options), $"BatchSize must be 1 or more; got {options.BatchSize}.");
        if (string.Equals(Path.GetExtension(path), ".onnx", StringComparison.OrdinalIgnoreCase))
        {
            if (options.Gpu is not null) throw new DeviceNotAvailableException("--gpu applies to checkpoints; an .onnx file runs on ONNX Runtime's CPU provider here.");
            return new Classifier(ImageClassifier.Load(path, options.BatchSize));
        }
        var log = new LoggerWriter(options.Logger);
        var checkpoint = CheckpointFile.Load(path);
        var info = checkpoint.Info;
        var device = ModelSetup.SelectDevice(options.Gpu);
        // The checkpoint's own evaluation size and resize (stretch or centre crop), as validation and `finetune test` used.
        var (preprocessing, settings) = EvaluationSettings.Of(info, path);
        int imageSize = settings.ImageSize, batchSize = options.BatchSize;
        var precision = options.Precision ?? settings.Precision;
        var kernels = KernelCheck.PrepareAndReport(new KernelRequest([KernelRequest.BlockOf(info.Backbone)], imageSize, batchSize, imageSize, settings.Flip ? 2 * batchSize : batchSize, info.NumClasses,
            ChannelsLast: true, Training: false, Bf16: KernelRequest.MayUseBf16(precision), Threads: 0), log);
        var model = checkpoint.CreateModel(kernels.Routing());
        try
        {
            model.to(device);
            model.eval();
            // The checkpoint's own training.precision unless Precision says otherwise; its exports are fp32 whatever it says.
            PrecisionSetup.Apply(model, precision, device, log.WriteLine, ModelExport.Bf16PredictNote);
            return new Classifier(path, model, device, info, preprocessing, settings, batchSize, OnnxRuntimeEngine.For(options.EvalEngine, log.WriteLine) is { } engine ? new KeptSessionEngine(engine) : null);
        }
        catch { model.Dispose(); throw; }
    }

    /// <summary>
    /// The top <paramref name="topK"/> classes of each file, in the order given; a file that cannot be read or decoded
    /// gets its <see cref="ImagePrediction.Error"/> instead of failing the others.
    /// </summary>
    public List<ImagePrediction> Predict(IReadOnlyList<string> imagePaths, int topK = 5)
    {
        if (_onnx is not null) return _onnx.Predict(imagePaths, topK);
        var dataset = new ImageDataset(".", [.. ClassNames], imagePaths.Select(p => new Sample(p, p, 0)).ToList());
        var options = new LoaderOptions(BatchSize: _batchSize, NumWorkers: Math.Clamp(Environment.ProcessorCount, 1, 4), Shuffle: false);
        using var loader = new DataLoader(dataset, _transform!, _preprocessing!, options);
        var byIndex = new ImagePrediction?[imagePaths.Count];
        EvalPass.ForInference(_model!, _device!, _engine, _flip).Run(loader.Epoch(0), (batch, logits) =>
        {
            var probabilities = EvalPass.Probabilities(logits);
            for (int i = 0; i < batch.Count; i++)
                byIndex[batch.Indices[i]] = new ImagePrediction(batch.Paths[i], PredictionFormat.TopK(probabilities[i], ClassNames, topK));
        });
        // The loader leaves unreadable files out of its batches and records why; each gets its own error.
        var problems = loader.Problems.ToDictionary(p => p.RelativePath, p => p.Reason, StringComparer.Ordinal);
        return imagePaths.Select((path, i) => byIndex[i] ?? ImagePrediction.Failed(path, problems.GetValueOrDefault(path) ?? "could not be read")).ToList();
    }

    /// <summary>The top <paramref name="topK"/> classes of one image file, most probable first.</summary>
    /// <exception cref="ImageDecodeException">The file is not an image this program can decode.</exception>
    public IReadOnlyList<ClassProbability> Predict(string imagePath, int topK = 5)
    {
        var prediction = Predict([imagePath], topK)[0];
        return prediction.Error is null ? prediction.TopK : throw new ImageDecodeException($"'{imagePath}': {prediction.Error}");
    }

    /// <summary>The top <paramref name="topK"/> classes of an encoded image (JPEG, PNG, GIF, BMP, WebP) read from <paramref name="image"/>.</summary>
    public IReadOnlyList<ClassProbability> Predict(Stream image, int topK = 5)
    {
        if (_onnx is not null) return _onnx.Predict(image, topK);
        using var buffer = new MemoryStream();
        image.CopyTo(buffer);
        var pixels = new float[3 * _transform!.Size * _transform.Size];
        // Decoded as the loader and `finetune predict` decode a file (a large JPEG at the smallest of its 1/8 scales that
        // still covers the model's input): a full-size decode gives other pixels, and a Caltech-101 photo another top-1.
        using (var renderer = new ImageRenderer(_preprocessing!)) renderer.RenderEncoded(buffer.ToArray(), _transform, pixels);
        return Classify(pixels, topK);
    }

    /// <summary>
    /// The top <paramref name="topK"/> classes of a decoded image, taken as it is; transparent pixels count as white.
    /// <c>SKBitmap.Decode</c> leaves a phone's portrait photo sideways (its EXIF orientation unapplied): pass the file or
    /// its bytes instead, which are turned upright as in training.
    /// </summary>
    public IReadOnlyList<ClassProbability> Predict(SKBitmap image, int topK = 5)
    {
        if (_onnx is not null) return _onnx.Predict(image, topK);
        using var rgba = ImageDecoder.ToOpaqueRgba(image);
        var pixels = new float[3 * _transform!.Size * _transform.Size];
        using (var renderer = new ImageRenderer(_preprocessing!)) renderer.Render(rgba, _transform, pixels);
        return Classify(pixels, topK);
    }

    /// <summary>One rendered image (3·size·size floats, the checkpoint's preprocessing) through the checkpoint's model.</summary>
    IReadOnlyList<ClassProbability> Classify(float[] pixels, int topK)
    {
        int size = _transform!.Size;
        using var images = torch.tensor(pixels, [1, 3, size, size]);
        var probabilities = EvalPass.ForInference(_model!, _device!, flipAverage: _flip).ClassProbabilities(images)[0];
        return PredictionFormat.TopK(probabilities, ClassNames, topK);
    }

    public void Dispose()
    {
        _engine?.Dispose();
        _model?.Dispose();
        _onnx?.Dispose();
    }
}
