namespace FineTune.Weights;

/// <summary>
/// The ImageNet ResNet-18 that ships offline in NuGet package Microsoft.ML.DnnImageFeaturizer.ResNet18
/// (a CNTK export, BasicBlock [2, 2, 2, 3], BGR 0-255 minus a mean image, no classifier).
/// STUB: conversion from ONNX is being implemented.
/// </summary>
public static class BundledResNet18
{
    /// <summary>Where the original ONNX file is expected.</summary>
    public static string ExpectedLocation => Path.Combine(AppContext.BaseDirectory, "DnnImageModels", "ResNet18Onnx", "ResNet18.onnx");

    /// <summary>The converted weights, or null when the package's ONNX file is not at hand.</summary>
    public static PretrainedWeights? TryLoad() => null;
}
