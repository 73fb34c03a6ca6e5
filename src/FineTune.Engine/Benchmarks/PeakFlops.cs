using System.Diagnostics;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace FineTune.Benchmarks;

/// <summary>
/// This CPU's fp32 peak as a program can reach it: every thread runs fused multiply-adds on independent registers (no
/// memory traffic, no dependency stalls) with the widest vectors it has (AVX-512, else AVX2+FMA, else 128-bit), and
/// the FLOPs of all threads over the wall time is the peak. A convolution cannot beat it, so a model's GFLOP/s over
/// this is how close to the limit it runs. Measured, not read from a data sheet: clocks, turbo and a shared host
/// all count, as they do for the model.
/// </summary>
public static class PeakFlops
{
    /// <summary>The measured peak, FLOP/s, on <paramref name="threads"/> threads: the best of <paramref name="tries"/> runs of about <paramref name="seconds"/> each.</summary>
    public static double Measure(int threads, double seconds = 0.3, int tries = 3)
    {
        if (threads < 1) throw new ArgumentOutOfRangeException(nameof(threads), "at least one thread");
        Sink = Loop(1000); // JIT and vector units warm
        long iterations = Calibrate(seconds);
        double best = 0;
        for (int t = 0; t < tries; t++)
        {
            using var start = new Barrier(threads + 1);
            var workers = Enumerable.Range(0, threads).Select(_ => new Thread(() => { start.SignalAndWait(); Sink = Loop(iterations); })).ToList();
            workers.ForEach(w => w.Start());
            start.SignalAndWait();
            var clock = Stopwatch.StartNew();
            workers.ForEach(w => w.Join());
            best = Math.Max(best, threads * iterations * FlopsPerIteration / clock.Elapsed.TotalSeconds);
        }
        return best;
    }

    /// <summary>Where each loop's result goes, so that the JIT cannot drop the loop as unused.</summary>
    static volatile float Sink;

    /// <summary>Vector width in floats of the loop this CPU runs.</summary>
    public static int Lanes => Avx512F.IsSupported ? 16 : Fma.IsSupported ? 8 : 4;

    /// <summary>What each thread computes per iteration: 16 independent fused multiply-adds (2 FLOPs a lane each).</summary>
    static double FlopsPerIteration => Accumulators * Lanes * 2.0;

    const int Accumulators = 16; // enough independent chains to cover FMA latency × ports on current x86 cores

    static long Calibrate(double seconds)
    {
        long n = 1 << 16;
        while (true)
        {
            var clock = Stopwatch.StartNew();
            Sink = Loop(n);
            if (clock.Elapsed.TotalSeconds > seconds / 4) return (long)(n * seconds / clock.Elapsed.TotalSeconds);
            n *= 4;
        }
    }

    static float Loop(long iterations) =>
        Avx512F.IsSupported ? Loop512(iterations) : Fma.IsSupported ? Loop256(iterations) : Loop128(iterations);

    // Each loop keeps 16 accumulators in registers; multiplier and addend are chosen so the values stay finite and normal.
    static float Loop512(long n)
    {
        var m = Vector512.Create(0.999999f);
        var c = Vector512.Create(1e-6f);
        Vector512<float> a0 = Vector512.Create(1f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0,
                         a8 = a0, a9 = a0, a10 = a0, a11 = a0, a12 = a0, a13 = a0, a14 = a0, a15 = a0;
        for (long i = 0; i < n; i++)
        {
            a0 = Avx512F.FusedMultiplyAdd(a0, m, c); a1 = Avx512F.FusedMultiplyAdd(a1, m, c);
            a2 = Avx512F.FusedMultiplyAdd(a2, m, c); a3 = Avx512F.FusedMultiplyAdd(a3, m, c);
            a4 = Avx512F.FusedMultiplyAdd(a4, m, c); a5 = Avx512F.FusedMultiplyAdd(a5, m, c);
            a6 = Avx512F.FusedMultiplyAdd(a6, m, c); a7 = Avx512F.FusedMultiplyAdd(a7, m, c);
            a8 = Avx512F.FusedMultiplyAdd(a8, m, c); a9 = Avx512F.FusedMultiplyAdd(a9, m, c);
            a10 = Avx512F.FusedMultiplyAdd(a10, m, c); a11 = Avx512F.FusedMultiplyAdd(a11, m, c);
            a12 = Avx512F.FusedMultiplyAdd(a12, m, c); a13 = Avx512F.FusedMultiplyAdd(a13, m, c);
            a14 = Avx512F.FusedMultiplyAdd(a14, m, c); a15 = Avx512F.FusedMultiplyAdd(a15, m, c);
        }
        var sum = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11 + a12 + a13 + a14 + a15;
        return Vector512.Sum(sum);
    }

    static float Loop256(long n)
    {
        var m = Vector256.Create(0.999999f);
        var c = Vector256.Create(1e-6f);
        Vector256<float> a0 = Vector256.Create(1f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0,
                         a8 = a0, a9 = a0, a10 = a0, a11 = a0, a12 = a0, a13 = a0, a14 = a0, a15 = a0;
        for (long i = 0; i < n; i++)
        {
            a0 = Fma.MultiplyAdd(a0, m, c); a1 = Fma.MultiplyAdd(a1, m, c); a2 = Fma.MultiplyAdd(a2, m, c); a3 = Fma.MultiplyAdd(a3, m, c);
            a4 = Fma.MultiplyAdd(a4, m, c); a5 = Fma.MultiplyAdd(a5, m, c); a6 = Fma.MultiplyAdd(a6, m, c); a7 = Fma.MultiplyAdd(a7, m, c);
            a8 = Fma.MultiplyAdd(a8, m, c); a9 = Fma.MultiplyAdd(a9, m, c); a10 = Fma.MultiplyAdd(a10, m, c); a11 = Fma.MultiplyAdd(a11, m, c);
            a12 = Fma.MultiplyAdd(a12, m, c); a13 = Fma.MultiplyAdd(a13, m, c); a14 = Fma.MultiplyAdd(a14, m, c); a15 = Fma.MultiplyAdd(a15, m, c);
        }
        var sum = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11 + a12 + a13 + a14 + a15;
        return Vector256.Sum(sum);
    }

    /// <summary>No FMA: a multiply and an add (still 2 FLOPs a lane, the hardware's own peak without FMA).</summary>
    static float Loop128(long n)
    {
        var m = Vector128.Create(0.999999f);
        var c = Vector128.Create(1e-6f);
        Vector128<float> a0 = Vector128.Create(1f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0,
                         a8 = a0, a9 = a0, a10 = a0, a11 = a0, a12 = a0, a13 = a0, a14 = a0, a15 = a0;
        for (long i = 0; i < n; i++)
        {
            a0 = a0 * m + c; a1 = a1 * m + c; a2 = a2 * m + c; a3 = a3 * m + c; a4 = a4 * m + c; a5 = a5 * m + c; a6 = a6 * m + c; a7 = a7 * m + c;
            a8 = a8 * m + c; a9 = a9 * m + c; a10 = a10 * m + c; a11 = a11 * m + c; a12 = a12 * m + c; a13 = a13 * m + c; a14 = a14 * m + c; a15 = a15 * m + c;
        }
        var sum = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11 + a12 + a13 + a14 + a15;
        return Vector128.Sum(sum);
    }
}
