// The kernel check's probe host: `dotnet exec --depsfile APP.deps.json --runtimeconfig APP.runtimeconfig.json finetune-probe.dll
// kernel-probe --probes FILE --from N --threads T`. The engine is found through the host program's dependency file, not
// referenced at build time: the engine's project builds and packs this one, so a reference back would be a cycle.
using System.Reflection;

var probes = Type.GetType("FineTune.Kernels.ProbeProcess, FineTune.Engine", throwOnError: false);
if (probes?.GetMethod("RunHost", BindingFlags.Public | BindingFlags.Static, [typeof(string[])]) is not { } run)
{
    Console.Error.WriteLine("finetune-probe: FineTune.Engine (with ProbeProcess.RunHost) was not found; the kernel check starts this program with its host program's .deps.json, never on its own.");
    return 2;
}
return run.CreateDelegate<Func<string[], int>>()(args);
