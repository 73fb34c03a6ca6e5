namespace FineTune.Prediction;

/// <summary>
/// What a file written by `finetune export --format onnx` holds, by name: the graph's input and outputs and its metadata
/// keys. The exporter (FineTune.Engine) writes them and <see cref="OnnxClassifier"/> reads them, so both use these.
/// </summary>
public static class OnnxModelFile
{
    public const string InputName = "image_rgb_0to1_nchw";
    public const string LogitsName = "logits", ProbabilitiesName = "probabilities";

    /// <summary>Metadata keys; <c>finetune predict</c> and the sample read them back.</summary>
    public const string ClassNamesKey = "class_names", InputSizeKey = "input_size", ResizeKey = "resize", CropFractionKey = "crop_fraction",
        BackboneKey = "backbone", ArchitectureKey = "architecture", WeightsKey = "weights", VersionKey = "finetune_version",
        InputKey = "input", PreprocessingKey = "preprocessing";
}
