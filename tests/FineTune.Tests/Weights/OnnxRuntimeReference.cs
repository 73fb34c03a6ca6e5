using FineTune.Weights;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace FineTune.Tests.Weights;

/// <summary>
/// The implementation no one here wrote: ONNX Runtime running the package's original ResNetPreprocess.onnx
/// and then ResNet18.onnx, as ML.NET's DnnImageFeaturizer does, returning the pooled 512-d features.
/// </summary>
sealed class OnnxRuntimeReference : IDisposable
{
    readonly InferenceSession preprocess = new(BundledResNet18.PreprocessingLocation);
    readonly InferenceSession network = new(BundledResNet18.ExpectedLocation);

    /// <summary>Features of one image given as RGB in 0..255, [3, H, W].</summary>
    public float[] Features(float[] rgb255, int size)
    {
        var input = new DenseTensor<float>(rgb255, [1, 3, size, size]);
        using var prepared = preprocess.Run([NamedOnnxValue.CreateFromTensor(preprocess.InputMetadata.Keys.Single(), input)]);
        var bgr = prepared.Single().AsTensor<float>().ToDenseTensor();
        using var pooled = network.Run([NamedOnnxValue.CreateFromTensor(network.InputMetadata.Keys.Single(), bgr)]);
        var output = pooled.Single(o => o.Name == "Pooling395_Output_0");
        return output.AsEnumerable<float>().ToArray();
    }

    public void Dispose()
    {
        preprocess.Dispose();
        network.Dispose();
    }
}
