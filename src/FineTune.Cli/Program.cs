using FineTune;
using FineTune.Cli;
using FineTune.Cli.Commands;
using FineTune.Cli.Parsing;
using FineTune.Cli.Commands.Distributed;
using FineTune.Distributed;

// `finetune <command> [options]`. Every failure a user can cause ends in one line naming the thing and the fix.
// What each command accepts, and what `finetune help` and `finetune COMMAND --help` print, is in Parsing/CommandCatalog.cs.
static CommandLine Parse(string[] args, CommandSpec spec) => new(args, spec);
var commands = new Dictionary<string, Func<string[], int>>
{
    ["quickstart"] = a => QuickstartCommand.Run(Parse(a, CommandCatalog.Quickstart)),
    ["models"] = a => ModelsCommand.Run(Parse(a, CommandCatalog.Models)),
    ["train"] = a => TrainCommand.Run(Parse(a, CommandCatalog.Train)),
    ["test"] = a => TestCommand.Run(Parse(a, CommandCatalog.Test)),
    ["predict"] = a => PredictCommand.Run(Parse(a, CommandCatalog.Predict)),
    ["compare"] = a => CompareCommand.Run(Parse(a, CommandCatalog.Compare)),
    ["export"] = a => ExportCommand.Run(Parse(a, CommandCatalog.Export)),
    ["data"] = DataCommand.Run,
    ["doctor"] = a => DoctorCommand.Run(Parse(a, CommandCatalog.Doctor)),
    ["bench"] = a => BenchCommand.Run(Parse(a, CommandCatalog.Bench)),
    // Hidden (CommandSpec.Hidden, not listed by `finetune help`): test harness and benchmark of data-parallel training over MPI.
    ["ddp-selftest"] = a => DdpSelfTestCommand.Run(Parse(a, CommandCatalog.DdpSelfTest)),
    [FineTune.Kernels.ProbeProcess.Command] = a => KernelProbeCommand.Run(Parse(a, CommandCatalog.KernelProbe)),
    ["ddp-bench"] = a => DdpBenchCommand.Run(Parse(a, CommandCatalog.DdpBench)),
};
// Every dispatched command has its help: a missing entry fails every run, so no test can miss it.
foreach (var name in commands.Keys) CommandCatalog.Get(name);

if (args.Length == 0 || args[0] is "help" or "--help" or "-h")
{
    // `finetune help train` is `finetune train --help`.
    if (args.Length > 1 && HelpTopic(args[1..]) is { } topic) { Console.Write(HelpText.For(topic)); return 0; }
    Console.Write(HelpText.CommandList());
    return args.Length == 0 ? 2 : 0;
}

if (!commands.TryGetValue(args[0], out var command))
{
    var visible = CommandCatalog.Commands.Where(c => !c.Hidden).Select(c => c.Name);
    var nearest = NearestName.Find(args[0], visible);
    Console.Error.WriteLine(nearest is null
        ? $"finetune: unknown command '{args[0]}'; run `finetune help` for the list."
        : $"finetune: unknown command '{args[0]}'; did you mean `finetune {nearest}`?");
    return 2;
}

if (args[1..].Any(a => a is "--help" or "-h"))
{
    Console.Write(HelpText.For(HelpTopic(args)!));
    return 0;
}

try
{
    return command(args[1..]);
}
// Every failure a user can fix is a FineTuneException that carries its exit code (docs/reliability.md, "Exit codes"): 2 for the
// command line (an unusable --gpu included, as in the seed), 1 for everything else.
catch (FineTuneException e) { return Fail(e.Message, e.ExitCode); }
// What the system reports about a file (missing, unreadable, disk full) or a format: these types cannot derive from
// FineTuneException, and the engine's own throws of them name the file and the fix.
catch (Exception e) when (e is IOException or InvalidDataException or NotSupportedException) { return Fail(e.Message, ExitCodes.Failure); }

// The catalog entry `args` name: a command, or a group's sub-command (`data prepare`) when one is named.
static CommandSpec? HelpTopic(string[] args)
{
    var spec = CommandCatalog.Find(args[0]);
    return spec is not null && args.Length > 1 && spec.Subcommand(args[1]) is { } sub ? sub : spec;
}

static int Fail(string message, int code)
{
    // Under mpirun, say which rank failed: mpirun itself only reports the exit code of "process [[job,1],rank]".
    var launch = LaunchInfo.FromEnvironment();
    var where = launch is { Size: > 1 } ? $"rank {launch.Rank} of {launch.Size}: " : "";
    Console.Error.WriteLine($"finetune: {where}{message}");
    return code;
}
