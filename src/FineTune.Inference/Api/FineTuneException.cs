namespace FineTune;

/// <summary>
/// A failure the user can fix: a file, a dataset, a config value, weights, a checkpoint, a flag, the machine. The message
/// is one sentence naming the thing and the fix; `finetune` prints it as one line and exits with <see cref="ExitCode"/>,
/// never with a stack trace. Every such exception derives from this one, so the program maps the base type instead of a
/// list of names that a new type could be missing from (a test checks each exception type of the engine derives from it).
/// </summary>
public abstract class FineTuneException(string message, int exitCode = ExitCodes.Failure, Exception? inner = null)
    : Exception(message, inner)
{
    /// <summary>What `finetune` exits with after printing the message (see <see cref="ExitCodes"/>).</summary>
    public int ExitCode { get; } = exitCode;
}

/// <summary>The exit codes of `finetune` (docs/reliability.md, "Exit codes"); a stop by signal exits 128 + the signal's number.</summary>
public static class ExitCodes
{
    /// <summary>Something the user can fix outside the command line: a file, a dataset, a config, weights, the machine.</summary>
    public const int Failure = 1;

    /// <summary>The command line itself: an unknown command or option, a malformed value, a --gpu this build cannot use.</summary>
    public const int Usage = 2;
}
