using FineTune.Models;
using static TorchSharp.torch;

namespace FineTune.Weights;

/// <summary>
/// A set of pretrained weights as a value (after torchvision's weights API): what architecture they fit,
/// how many classes their classifier has (0 when they come without one), the preprocessing they were
/// trained with, and where they came from. Nothing else in the program hard-codes a mean or a std.
/// </summary>
public abstract record PretrainedWeights(
    string Name,
    string Backbone,
    ResNetArchitecture Architecture,
    int ClassCount,
    Preprocessing Preprocessing,
    string Provenance)
{
    /// <summary>Reads the tensors (torchvision key names). The caller owns and disposes them.</summary>
    public abstract Dictionary<string, Tensor> LoadStateDict();

    readonly List<string> _warnings = [];

    /// <summary>
    /// What went wrong but did not stop <see cref="LoadStateDict"/> (a cache that could not be read or written): the
    /// weights layer has no logger, so the caller passes these on to its own.
    /// </summary>
    public IReadOnlyList<string> Warnings => _warnings;

    protected void Warn(string message) => _warnings.Add(message);
}
