using FineTune.Config;
using FineTune.Kernels;
using FineTune.Models;
using Xunit;

namespace FineTune.Tests.Models;

/// <summary>training.precision / --precision: which precision a run gets on which CPU, and why.</summary>
public class PrecisionTests
{
    static readonly CpuBf16 AmdAvx512Bf16 = CpuBf16.From("AuthenticAMD", Flags("avx512f avx512_bf16"));
    static readonly CpuBf16 IntelAvx512Bf16 = CpuBf16.From("GenuineIntel", Flags("avx512f avx512_bf16 avx512_fp16"));
    static readonly CpuBf16 IntelAmx = CpuBf16.From("GenuineIntel", Flags("avx512f avx512_bf16 amx_bf16 amx_tile"));
    static readonly CpuBf16 NoBf16 = CpuBf16.From("GenuineIntel", Flags("avx2 avx512f"));

    static HashSet<string> Flags(string words) => words.Split(' ').ToHashSet();

    [Fact]
    public void Cpu_flags_name_the_native_bf16_and_whether_it_beats_fp32()
    {
        Assert.Equal(("avx512_bf16", true), (AmdAvx512Bf16.NativeFlag, AmdAvx512Bf16.FasterThanFp32));
        Assert.Equal(("amx_bf16", true), (IntelAmx.NativeFlag, IntelAmx.FasterThanFp32));
        Assert.Equal(("avx512_bf16", false), (IntelAvx512Bf16.NativeFlag, IntelAvx512Bf16.FasterThanFp32));
        Assert.Null(NoBf16.NativeFlag);
        Assert.False(NoBf16.FasterThanFp32);
    }

    [Theory]
    [InlineData("amd", true)]
    [InlineData("amx", true)]
    [InlineData("intel-avx512", false)]
    [InlineData("none", false)]
    public void Auto_picks_bf16_only_where_the_cpu_runs_it_faster(string cpu, bool bf16)
    {
        var support = cpu switch { "amd" => AmdAvx512Bf16, "amx" => IntelAmx, "intel-avx512" => IntelAvx512Bf16, _ => NoBf16 };
        foreach (var verdict in new bool?[] { true, null })
        {
            var choice = Precision.Resolve(PrecisionSetting.Auto, support, verdict);
            Assert.Equal(bf16 ? ComputePrecision.Bf16 : ComputePrecision.Fp32, choice.Precision);
            Assert.StartsWith("auto: ", choice.Reason);
            Assert.Contains(support.Description, choice.Reason);
            Assert.Null(choice.SlowerWarning);
        }
    }

    [Fact]
    public void A_failed_kernel_check_keeps_auto_on_fp32_and_says_so()
    {
        var choice = Precision.Resolve(PrecisionSetting.Auto, AmdAvx512Bf16, bf16KernelsVerified: false);
        Assert.Equal(ComputePrecision.Fp32, choice.Precision);
        Assert.Contains("kernel check failed", choice.Reason);
        Assert.Contains("kernel check passed", Precision.Resolve(PrecisionSetting.Auto, AmdAvx512Bf16, true).Reason);
    }

    [Fact]
    public void Fp32_asked_for_is_fp32_on_every_cpu()
    {
        foreach (var cpu in new[] { AmdAvx512Bf16, IntelAmx, IntelAvx512Bf16, NoBf16 })
            Assert.Equal(ComputePrecision.Fp32, Precision.Resolve(PrecisionSetting.Fp32, cpu, true).Precision);
    }

    [Fact]
    public void Bf16_asked_for_runs_everywhere_with_a_warning_where_it_is_slower()
    {
        var fast = Precision.Resolve(PrecisionSetting.Bf16, AmdAvx512Bf16, null);
        Assert.Equal(ComputePrecision.Bf16, fast.Precision);
        Assert.Null(fast.SlowerWarning);

        foreach (var cpu in new[] { NoBf16, IntelAvx512Bf16 })
        {
            var slow = Precision.Resolve(PrecisionSetting.Bf16, cpu, null);
            Assert.Equal(ComputePrecision.Bf16, slow.Precision);
            Assert.Contains("slower than fp32", slow.SlowerWarning);
            Assert.Contains("--precision fp32", slow.SlowerWarning);
        }
    }

    [Fact]
    public void Bf16_asked_for_on_kernels_that_failed_the_check_runs_in_fp32_and_the_line_says_why()
    {
        foreach (var cpu in new[] { AmdAvx512Bf16, IntelAmx, IntelAvx512Bf16, NoBf16 })
        {
            var choice = Precision.Resolve(PrecisionSetting.Bf16, cpu, bf16KernelsVerified: false);
            Assert.Equal(ComputePrecision.Fp32, choice.Precision);
            Assert.StartsWith("Precision: fp32 (bf16 asked for, but the kernel check failed for bf16", choice.ToString());
        }
        Assert.Equal(ComputePrecision.Bf16, Precision.Resolve(PrecisionSetting.Bf16, AmdAvx512Bf16, true).Precision);
    }

    [Fact]
    public void Only_a_failed_bf16_probe_counts_as_a_failed_check_for_an_explicit_bf16()
    {
        var probe = new Probe(new OpShape(ProbeOp.Conv, 64, 64, 3, 1, 1, 8), 4, Layout.Nchw, KernelDtype.Bf16, true);
        var failed = new KernelPlan { Findings = [new(probe, ProbeVerdict.Wrong, 0.3, "output off by 0.3")] };
        Assert.Equal(false, failed.Bf16Verdict(bf16Asked: true));
        Assert.Same(failed.Findings[0], failed.Bf16Failure);
        var notProbed = new KernelPlan(); // bf16 asked for on the command line only: no bf16 probes ran
        Assert.Null(notProbed.Bf16Verdict(bf16Asked: true));
        Assert.Equal(false, notProbed.Bf16Verdict(bf16Asked: false)); // auto stays on fp32, as before
        Assert.Equal(true, (notProbed with { Bf16Verified = true }).Bf16Verdict(bf16Asked: true));
        Assert.Null(KernelPlan.Unchecked("off").Bf16Verdict(bf16Asked: true));
    }

    [Fact]
    public void The_run_line_names_the_precision_and_the_reason()
    {
        var line = Precision.Resolve(PrecisionSetting.Auto, AmdAvx512Bf16, null).ToString();
        Assert.Equal("Precision: bf16 (auto: CPU has avx512_bf16 (AMD); bf16 kernels not checked)", line);
    }

    [Theory]
    [InlineData("fp32", PrecisionSetting.Fp32)]
    [InlineData("BF16", PrecisionSetting.Bf16)]
    [InlineData("bfloat16", PrecisionSetting.Bf16)]
    [InlineData("auto", PrecisionSetting.Auto)]
    [InlineData("fp16", null)]
    public void Words_parse_to_settings(string text, PrecisionSetting? expected) => Assert.Equal(expected, PrecisionSettings.TryParse(text));

    [Fact]
    public void The_config_key_defaults_to_auto_reads_each_choice_and_names_a_wrong_one()
    {
        Assert.Equal(PrecisionSetting.Auto, ConfigLoader.Parse("training:\n  num_epochs: 1\n", "a.yaml").Training.Precision);
        Assert.Equal(PrecisionSetting.Bf16, ConfigLoader.Parse("training:\n  precision: bf16\n", "b.yaml").Training.Precision);
        Assert.Equal(PrecisionSetting.Fp32, ConfigLoader.Parse("training:\n  precision: fp32\n", "c.yaml").Training.Precision);
        var e = Assert.Throws<ConfigException>(() => ConfigLoader.Parse("training:\n  precision: fp16\n", "d.yaml"));
        Assert.Contains("d.yaml:2", e.Message);
        Assert.Contains("training.precision", e.Message);
        var printed = ConfigPrinter.ToYaml(ConfigLoader.Parse("training:\n  precision: bf16\n", "e.yaml"));
        Assert.Contains("precision: bf16", printed);
    }
}
