using FineTune.Config;
using FineTune.Evaluation;
using FineTune.Models;
using FineTune.Weights;
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
    /// <summary>The engine <paramref name="setting"/> (training.eval_engine, `bench --eval-engine`) asks for; null: libtorch alone.</summary>
    public static OnnxRuntimeEngine? For(EvalEngineSetting setting, Action<string>? say = null) =>
        setting == EvalEngineSetting.Torch ? null : new OnnxRuntimeEngine(say);

    string? _setAside;
    bool _announced;
    double _agreedTo;

    public string? Outcome => _setAside is { } why ? $"libtorch ({Name} set aside: {why})"
        : _announced ? $"{Name} over the exported graph (first batch within {_agreedTo:G2} of libtorch's largest output)"
        : null;

    public string Name => $"ONNX Runtime {OrtEnv.Instance().GetVersionString()}";

    public string? CannotRun(ResNet model, Device device) =>
        _setAside is { } why ? $"{Name} was set aside: {why}"
        : device.type != DeviceType.CPU ? $"{Name} runs on the CPU only here"
        : model.Precision != ComputePrecision.Fp32 ? $"{model.Precision.ToName()} evaluation runs in libtorch"
        : null;

    public IEvalSession Open(ResNet model, EvalOutput output) =>
        new Session(model.Architecture, OnnxExport.Weights(model), output == EvalOutput.Features);

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
        _agreedTo = relativeDifference;
        say?.Invoke($"Evaluation: {Name} over the exported graph (its first batch matched libtorch's to {relativeDifference:G2} of the largest output).");
    }

    /// <summary>
    /// ORT sessions on fixed weights (copied when opened), one per image size met (a pass has one, so it compiles once):
    /// fixed sizes let ORT plan memory and layouts once (measured 3-8% faster than symbolic ones; a fixed batch size
    /// gained nothing more). Each runs on as many threads as libtorch uses.
    /// </summary>
    sealed class Session(ResNetArchitecture architecture, Dictionary<string, HostTensor> weights, bool features) : IEvalSession
    {
        readonly Dictionary<(long Height, long Width), (SessionOptions Options, InferenceSession Session)> _bySize = [];
        readonly RunOptions _run = new();
        readonly string[] _inputs = [OnnxExport.NetworkInput], _outputs = [features ? OnnxExport.FeaturesOutput : Prediction.OnnxModelFile.LogitsName];
        readonly long _outputWidth = features ? weights["fc.weight"].Shape[1] : weights["fc.weight"].Shape[0];
        readonly Lock _lock = new(); // a kept session (KeptSessionEngine) may serve several threads; ORT's Run itself is thread-safe

        public bool Agreed { get; set; }

        InferenceSession For(long[] shape)
        {
            var size = (shape[2], shape[3]);
            lock (_lock)
                return _bySize.TryGetValue(size, out var open) ? open.Session : Compile(size);
        }

        InferenceSession Compile((long Height, long Width) size)
        {
            var options = new SessionOptions
            {
                GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
                ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
                IntraOpNumThreads = torch.get_num_threads(),
                InterOpNumThreads = 1,
            };
            var session = new InferenceSession(OnnxExport.Network(architecture, weights, features, size.Height, size.Width), options);
            _bySize[size] = (options, session);
            return session;
        }

        public unsafe Tensor Forward(Tensor images)
        {
            using var scope = NewDisposeScope();
            var input = (images.dtype == ScalarType.Float32 && images.device_type == DeviceType.CPU ? images : images.to(ScalarType.Float32, CPU)).contiguous();
            var session = For(input.shape);
            // ORT reads the input and writes the output in the tensors' own CPU memory: no copies, nothing for the GC.
            var outputs = empty(input.shape[0], _outputWidth);
            Span<byte> inBytes = input.bytes, outBytes = outputs.bytes;
            fixed (byte* inData = inBytes, outData = outBytes)
            {
                using var inValue = OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, TensorElementType.Float, input.shape, (IntPtr)inData, inBytes.Length);
                using var outValue = OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, TensorElementType.Float, outputs.shape, (IntPtr)outData, outBytes.Length);
                session.Run(_run, _inputs, [inValue], _outputs, [outValue]);
            }
            return outputs.MoveToOuterDisposeScope();
        }

        public void Dispose()
        {
            foreach (var (options, session) in _bySize.Values)
            {
                session.Dispose();
                options.Dispose();
            }
            _bySize.Clear();
            _run.Dispose();
        }
    }
}
