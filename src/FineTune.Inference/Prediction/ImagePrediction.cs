namespace FineTune.Prediction;

/// <summary>A class and the model's probability for it (0..1).</summary>
public sealed record ClassProbability(string ClassName, double Probability);

/// <summary>The top-k classes for one image, most probable first; or why the image could not be classified.</summary>
public sealed record ImagePrediction(string Path, IReadOnlyList<ClassProbability> TopK, string? Error = null)
{
    public static ImagePrediction Failed(string path, string error) => new(path, [], error);
}
