using FineTune.Logging;

namespace FineTune.Cli.Output;

/// <summary>
/// What the commands hand the library to print with: its lines on stdout (warnings on stderr), and a progress bar for
/// training, validation and the probe's feature pass. The library itself is quiet; this is the command line's choice.
/// </summary>
static class ConsoleOutput
{
    public static PlainTextLogger Logger() => PlainTextLogger.Console();

    /// <summary>For commands whose stdout holds only their answer (predict): everything on stderr.</summary>
    public static PlainTextLogger ToStderr() => new(Console.Error);

    /// <summary>The bar (or ten lines per phase when redirected). The test pass reports progress too, but `finetune` has never drawn it.</summary>
    public static IProgress<ProgressUpdate> Progress() => new SkipTestPass(TextProgress.Console());

    sealed class SkipTestPass(IProgress<ProgressUpdate> inner) : IProgress<ProgressUpdate>
    {
        public void Report(ProgressUpdate value)
        {
            if (value.Phase != ProgressPhase.Test) inner.Report(value);
        }
    }
}
