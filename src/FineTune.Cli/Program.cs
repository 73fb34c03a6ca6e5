using FineTune.Benchmarks;
using FineTune.Cli;
using FineTune.Cli.Commands;
using FineTune.Config;
using FineTune.Training;
using FineTune.Training.Checkpoints;
using FineTune.Data;
using FineTune.Cli.Commands.Distributed;
using FineTune.Distributed;
using FineTune.Models;
using FineTune.Native;
using FineTune.Weights;

// `finetune <command> [options]`. Every failure a user can cause ends in one line naming the thing and the fix.
const string Hidden = "(hidden)";
var commands = new Dictionary<string, (string Help, Func<string[], int> Run)>
{
    ["quickstart"] = ("the main job: fine-tune vs scratch on a small image set, tested, with the seed's table ([--data_dir D] [--epochs N])", a => QuickstartCommand.Run(new CommandLine(a, QuickstartCommand.Flags))),
    ["models"] = ("list backbones and the pretrained weights available offline", a => ModelsCommand.Run(new CommandLine(a, new HashSet<string>()))),
    ["train"] = ("train a model from a YAML config (--config F [--resume P] [--dry-run])", a => TrainCommand.Run(new CommandLine(a, TrainCommand.Flags))),
    ["test"] = ("evaluate a checkpoint on its experiment's test split and write the report (--config F --model_path P [--output_dir D])", a => TestCommand.Run(new CommandLine(a, TestCommand.Flags))),
    ["predict"] = ("classify images with a checkpoint (--model_path P IMAGE|FOLDER [--topk 5] [--json])", a => PredictCommand.Run(new CommandLine(a, PredictCommand.Flags))),
    ["compare"] = ("results table and validation curves of finished runs ([--outputs D] [--out D] [--configs a.yaml,b.yaml --run])", a => CompareCommand.Run(new CommandLine(a, CompareCommand.Flags))),
    ["export"] = (ExportCommand.Help, a => ExportCommand.Run(new CommandLine(a, ExportCommand.Flags))),
    ["data"] = ("prepare | verify | synth | bench: get, check and measure image data", DataCommand.Run),
    ["doctor"] = ("the kernel check in full: every probe of libtorch's kernels on this CPU and the configuration chosen ([--config F] [--recheck])", a => DoctorCommand.Run(new CommandLine(a, DoctorCommand.Flags))),
    ["bench"] = (BenchCommand.Help, a => BenchCommand.Run(new CommandLine(a, BenchCommand.Flags))),
    // Hidden (not listed by `finetune help`): test harness and benchmark of data-parallel training over MPI.
    ["ddp-selftest"] = (Hidden, a => DdpSelfTestCommand.Run(new CommandLine(a, new HashSet<string> { "sync_bn" }))),
    [FineTune.Kernels.ProbeProcess.Command] = (Hidden, a => KernelProbeCommand.Run(new CommandLine(a, new HashSet<string>()))),
    ["ddp-bench"] = (Hidden, a => DdpBenchCommand.Run(new CommandLine(a, new HashSet<string>()))),
};

if (args.Length == 0 || args[0] is "help" or "--help" or "-h")
{
    Console.WriteLine("usage: finetune <command> [options]\n\ncommands:");
    foreach (var (name, c) in commands.Where(c => c.Value.Help != Hidden)) Console.WriteLine($"  {name,-12} {c.Help}");
    return args.Length == 0 ? 2 : 0;
}

if (!commands.TryGetValue(args[0], out var command))
{
    Console.Error.WriteLine($"finetune: unknown command '{args[0]}'; run `finetune help` for the list.");
    return 2;
}

try
{
    return command.Run(args[1..]);
}
catch (UsageException e) { return Fail(e.Message, 2); }
catch (Exception e) when (e is NativeLibraryException or UnknownBackboneException or WeightsMismatchException or WeightsException
                              or FileNotFoundException or DirectoryNotFoundException or InvalidDataException
                              or ConfigException or CheckpointException or DatasetNotFoundException or OutputNotWritableException
                              or NotSupportedException
                              or DatasetException or UnsafeArchiveException or ManifestMismatchException or IOException
                              or DistributedException or BenchmarkReferenceException or FineTune.Kernels.KernelCheckException)
{
    return Fail(e.Message, 1);
}

static int Fail(string message, int code)
{
    // Under mpirun, say which rank failed: mpirun itself only reports the exit code of "process [[job,1],rank]".
    var launch = LaunchInfo.FromEnvironment();
    var where = launch is { Size: > 1 } ? $"rank {launch.Rank} of {launch.Size}: " : "";
    Console.Error.WriteLine($"finetune: {where}{message}");
    return code;
}
