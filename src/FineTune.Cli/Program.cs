using FineTune.Benchmarks;
using FineTune.Cli;
using FineTune.Cli.Commands;
using FineTune.Models;
using FineTune.Native;
using FineTune.Weights;

// `finetune <command> [options]`. Every failure a user can cause ends in one line naming the thing and the fix.
var commands = new Dictionary<string, (string Help, Func<string[], int> Run)>
{
    ["models"] = ("list backbones and the pretrained weights available offline", a => ModelsCommand.Run(new CommandLine(a, new HashSet<string>()))),
    ["bench"] = (BenchCommand.Help, a => BenchCommand.Run(new CommandLine(a, BenchCommand.Flags))),
};

if (args.Length == 0 || args[0] is "help" or "--help" or "-h")
{
    Console.WriteLine("usage: finetune <command> [options]\n\ncommands:");
    foreach (var (name, c) in commands) Console.WriteLine($"  {name,-12} {c.Help}");
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
catch (Exception e) when (e is NativeLibraryException or UnknownBackboneException or WeightsMismatchException
                              or BenchmarkReferenceException or FileNotFoundException or DirectoryNotFoundException or InvalidDataException)
{
    return Fail(e.Message, 1);
}

static int Fail(string message, int code)
{
    Console.Error.WriteLine($"finetune: {message}");
    return code;
}
