using FineTune.Evaluation;
using FineTune.Models;
using Microsoft.ML.OnnxRuntime;
using TensorElementType = Microsoft.ML.OnnxRuntime.Tensors.TensorElementType;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTune.Export;

/// <summary>
/// Evaluation on ONNX Runtime's CPU provider over the model's exported graph (<see cref="OnnxExport.Network"/>): faster
/// than libtorch's forward on the CPUs measured (docs/throughput.md), as ORT fuses each BatchNorm into its convolution
/// and runs its own blocked-layout kernels. fp32 on the CPU only; bf16 and fp64 stay in libtorch. <see cref="EvalPass"/>
/// checks each pass's first batch against libtorch; the first disagreement sets this engine aside for the process.
/// </summary>
/// <param name="say">Where the one line about the engine goes (used, or set aside and why); null: nowhere.</param>
public sealed class OnnxRuntimeEngine(Action<string>? say = null) : IEvalEngine
{
    string? _setAside;
    bool _announced;

    public string Name => $"ONNX Runtime {OrtEnv.Instance().GetVersionString()}";

    public string? CannotRun(ResNet model, Device device) =>
        _setAside is { } why ? $"{Name} was set aside: {why}"
        : device.type != DeviceType.CPU ? $"{Name} runs on the CPU only here"
        : model.Precision != ComputePrecision.Fp32 ? $"{model.Precision.ToName()} evaluation runs in libtorch"
        : null;

    public IEvalSession Open(ResNet model, EvalOutput output)
    {
        bool features = output == EvalOutput.Features;
        return new Session(OnnxExport.Network(model, features), features ? OnnxExport.FeaturesOutput : Prediction.OnnxModelFile.LogitsName);
    }

    public void Disagreed(string detail)
    {
        if (_setAside is not null) return;
        _setAside = detail;
        say?.Invoke($"Evaluation: {Name} set aside ({detail}); libtorch evaluates from here on.");
    }

    public void Agreed(double relativeDifference)
    {
        if (_announced) return;
        _announced = true;
        say?.Invoke($"Evaluation: {Name} over the exported graph (its first batch matched libtorch's to {relativeDifference:G2} of the largest output).");
    }

    /// <summary>One ORT session on fixed weights, as many threads as libtorch uses; the input is read in place.</summary>
    sealed class Session : IEvalSession
    {
        readonly SessionOptions _options;
        readonly InferenceSession _session;
        readonly RunOptions _run = new();
        readonly string[] _inputs = [OnnxExport.NetworkInput], _outputs;

        public Session(byte[] graph, string output)
        {
            _outputs = [output];
            _options = new SessionOptions
            {
                GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
                ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
                IntraOpNumThreads = torch.get_num_threads(),
                InterOpNumThreads = 1,
            };
            _session = new InferenceSession(graph, _options);
        }

        public unsafe Tensor Forward(Tensor images)
        {
            using var scope = NewDisposeScope();
            var input = (images.dtype == ScalarType.Float32 && images.device_type == DeviceType.CPU ? images : images.to(ScalarType.Float32, CPU)).contiguous();
            var bytes = input.bytes; // the tensor's own CPU memory, which outlives the run
            fixed (byte* data = bytes)
            {
                using var value = OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, TensorElementType.Float, input.shape, (IntPtr)data, bytes.Length);
                using var results = _session.Run(_run, _inputs, [value], _outputs);
                var result = results[0];
                var shape = result.GetTensorTypeAndShape().Shape;
                return torch.tensor(result.GetTensorDataAsSpan<float>().ToArray(), shape).MoveToOuterDisposeScope();
            }
        }

        public void Dispose()
        {
            _session.Dispose();
            _options.Dispose();
            _run.Dispose();
        }
    }
}
