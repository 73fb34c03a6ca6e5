using System.Runtime.InteropServices;
using FineTune.Kernels;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTune.MpiHost;

/// <summary>How an injected fault acts on the tensors, where a broken kernel would.</summary>
public sealed partial record KernelFault
{
    /// <summary>
    /// <paramref name="op"/> on data <paramref name="x"/>, weight <paramref name="w"/> and bias <paramref name="b"/>
    /// (null where the operation has none), as a broken kernel computes it: the result or one gradient wrong, or the process killed.
    /// </summary>
    internal Tensor Apply(Tensor x, Tensor? w, Tensor? b, Func<Tensor, Tensor?, Tensor?, Tensor> op)
    {
        if (Kind == FaultKind.Crash)
        {
            if (Pass == FaultPass.Forward) CrashNow();
            var crashing = op(x, w, b);
            return crashing.requires_grad ? CrashingIdentity.apply(crashing) : crashing;
        }
        Tensor? OnGradient(Tensor? t, FaultPass pass) =>
            t is not null && Pass == pass && t.requires_grad ? WrongGradient.apply(t, this, pass == FaultPass.BackwardData) : t;
        var y = op(OnGradient(x, FaultPass.BackwardData)!, OnGradient(w, FaultPass.BackwardWeight), OnGradient(b, FaultPass.BackwardBias));
        return Pass == FaultPass.Forward ? Corrupt(y, batched: true) : y;
    }

    /// <summary>
    /// <paramref name="y"/> made wrong: off by <see cref="Size"/> of its largest value (in <see cref="Sample"/> only, when
    /// <paramref name="batched"/>), or one NaN in the middle. The offset is detached: a wrong result still has a gradient, as a wrong kernel's does.
    /// </summary>
    Tensor Corrupt(Tensor y, bool batched)
    {
        using var scope = NewDisposeScope();
        var offset = zeros_like(y);
        var region = batched && Sample is int s ? (s < y.shape[0] ? offset.select(0, s) : null) : offset;
        if (region is null) return y.alias().MoveToOuterDisposeScope();
        if (Kind == FaultKind.Nan)
        {
            while (region.dim() > 0) region = region.select(0, region.shape[0] / 2);
            region.fill_(double.NaN);
        }
        else region.fill_(y.detach().abs().max().to(ScalarType.Float64).item<double>() * Size);
        return (y + offset).MoveToOuterDisposeScope();
    }

    /// <summary>The identity, whose gradient comes back wrong: a fault in one backward kernel (data, weight or bias) only.</summary>
    sealed class WrongGradient : autograd.SingleTensorFunction<WrongGradient>
    {
        public override string Name => "FineTuneInjectedWrongGradient";
        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
        {
            ctx.save_data("fault", vars[1]);
            ctx.save_data("batched", vars[2]);
            return ((Tensor)vars[0]).alias();
        }
        // One gradient per argument: none for the fault and the flag.
        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput) =>
            [((KernelFault)ctx.get_data("fault")).Corrupt(gradOutput, (bool)ctx.get_data("batched")), null!, null!];
    }

    [DllImport("libc", SetLastError = true)]
    static extern int kill(int pid, int sig);

    [DllImport("libc", SetLastError = true)]
    static extern IntPtr signal(int sig, IntPtr handler);

    const int SIGFPE = 8;

    /// <summary>
    /// Dies as oneDNN's division by zero did: by SIGFPE, exit 136. The .NET runtime handles SIGFPE for managed
    /// division and ignores one sent by kill, so the default action is restored first, as a fault in native code gets.
    /// </summary>
    public static void CrashNow()
    {
        Console.Out.Flush();
        signal(SIGFPE, IntPtr.Zero); // SIG_DFL
        kill(Environment.ProcessId, SIGFPE);
        Thread.Sleep(Timeout.Infinite);
    }

    /// <summary>The identity, whose backward pass crashes: as the SIGFPE in creating oneDNN's backward-data convolution.</summary>
    sealed class CrashingIdentity : autograd.SingleTensorFunction<CrashingIdentity>
    {
        public override string Name => "FineTuneInjectedCrash";
        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars) => ((Tensor)vars[0]).alias();
        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
        {
            CrashNow();
            return [gradOutput];
        }
    }
}
