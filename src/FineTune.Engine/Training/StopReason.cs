namespace FineTune.Training;

/// <summary>
/// Names for why a run stopped, which ranks exchange as small codes so that every rank reports (and exits with) the
/// same reason. The stop itself is a <see cref="CancellationToken"/>; a reason is only a label for it.
/// </summary>
public static class StopReason
{
    /// <summary>The signals the command line maps onto its token, in the order <see cref="FromCode"/> numbers them (0 means none).</summary>
    static readonly string[] Known = ["SIGINT", "SIGTERM", "SIGUSR1"];

    /// <summary>The label of a token cancelled by a caller that named no reason.</summary>
    public const string Cancelled = "a cancellation request";

    /// <summary>How many codes there are (a slot per known signal, one for any other reason).</summary>
    public static int Codes => Known.Length + 1;

    /// <summary>1 + the index of <paramref name="reason"/> among the known signals, <see cref="Codes"/> for any other reason, 0 for none.</summary>
    public static int Code(string? reason) => reason is null ? 0 : Array.IndexOf(Known, reason) is var i and >= 0 ? i + 1 : Known.Length + 1;

    /// <summary>The reason a code stands for, where this process did not see the stop itself.</summary>
    public static string FromCode(int code) => code >= 1 && code <= Known.Length ? Known[code - 1] : "a stop request on another rank";

    /// <summary>
    /// The exit code a shell expects after this signal (128 + signal number); SIGUSR1, the graceful stop that mpirun
    /// forwards, ends like SIGTERM (143), so a job scheduler sees one code for "stopped on request, checkpoint written".
    /// </summary>
    public static int ExitCode(string? reason) => reason switch { "SIGINT" => 130, "SIGTERM" or "SIGUSR1" => 143, _ => 1 };
}
