using System.Text.Json;
using System.Text.Json.Serialization;
using FineTune.Kernels;
using FineTune.Models;
using FineTune.Tests.Training;
using Xunit;

namespace FineTune.Tests.Kernels;

/// <summary>
/// The probe host (finetune-probe.dll, src/FineTune.ProbeHost) started as the kernel check starts it in a program without
/// `finetune` beside it: `dotnet exec` with the program's own .deps.json and .runtimeconfig.json (here the test project's).
/// The packed host in a program built against the package alone is LibrarySampleTests'.
/// </summary>
public class ProbeHostTests
{
    static readonly JsonSerializerOptions Json = new()
    {
        Converters = { new JsonStringEnumConverter() },
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    [Fact]
    public void The_probe_host_runs_probes_with_the_programs_own_dependencies()
    {
        var probes = new KernelRequest([BlockKind.Basic], 32, 2, 32, 2, 5, ChannelsLast: false, Training: false, Bf16: false, Threads: 1)
            .Probes().Take(2).ToList();
        var file = Path.Combine(Tiny.TempFolder(), "probes.json");
        File.WriteAllText(file, JsonSerializer.Serialize(probes, Json));

        var run = Host(ProbeProcess.Command, "--probes", file, "--from", "0", "--threads", "1").Succeeded();

        var lines = run.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["BEGIN 0", "BEGIN 1"], lines.Where(l => l.StartsWith("BEGIN ", StringComparison.Ordinal)));
        var results = lines.Where(l => l.StartsWith("RESULT ", StringComparison.Ordinal))
            .Select(l => JsonSerializer.Deserialize<ProbeResult>(l[(l.IndexOf(' ', 7) + 1)..], Json)!).ToList();
        Assert.Equal(probes, results.Select(r => r.Probe));
        Assert.All(results, r => Assert.True(double.IsFinite(r.Error), r.Detail)); // computed and compared, not crashed
    }

    [Fact]
    public void The_probe_host_started_without_probe_arguments_says_who_starts_it()
    {
        var run = Host("--help");
        Assert.Equal(2, run.Code);
        Assert.Contains("started by the kernel check", run.Err);
    }

    static ProcessResult Host(params string[] args)
    {
        var dir = AppContext.BaseDirectory;
        var deps = ((string)AppContext.GetData("APP_CONTEXT_DEPS_FILES")!).Split(';')[0];
        Assert.EndsWith("FineTune.Tests.deps.json", deps);
        var runtimeConfig = deps[..^".deps.json".Length] + ".runtimeconfig.json";
        return Processes.Run("dotnet", ["exec", "--depsfile", deps, "--runtimeconfig", runtimeConfig, Path.Combine(dir, ProbeProcess.HostFile), .. args],
            environment: new Dictionary<string, string> { ["FINETUNE_KERNEL_CHECK"] = "off" }, timeout: TimeSpan.FromMinutes(3));
    }
}
