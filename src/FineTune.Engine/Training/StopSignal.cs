using System.Runtime.InteropServices;

namespace FineTune.Training;

/// <summary>
/// A request to stop training cleanly: the trainer finishes the current step, writes a resumable checkpoint
/// and returns. Ctrl-C, SIGTERM and SIGUSR1 set it; a second Ctrl-C kills the process as usual.
/// </summary>
public sealed class StopSignal
{
    volatile string? _reason;

    public bool Requested => _reason is not null;
    public string? Reason => _reason;

    public void Request(string reason) => _reason ??= reason;

    /// <summary>Routes SIGINT, SIGTERM and (on Linux) SIGUSR1 to this signal while the returned object lives.</summary>
    public IDisposable ListenToProcessSignals()
    {
        PosixSignalRegistration Register(PosixSignal signal, string name) => PosixSignalRegistration.Create(signal, context =>
        {
            if (Requested) return; // second signal: let the default action end the process
            context.Cancel = true;
            Request(name);
            Console.Error.WriteLine($"\nfinetune: {name} received; finishing the current step and writing a resumable checkpoint (press Ctrl-C again to abort).");
        });
        PosixSignalRegistration[] registrations = OperatingSystem.IsLinux()
            ? [Register(PosixSignal.SIGINT, "SIGINT"), Register(PosixSignal.SIGTERM, "SIGTERM"), Register((PosixSignal)SigUsr1, "SIGUSR1")]
            : [Register(PosixSignal.SIGINT, "SIGINT"), Register(PosixSignal.SIGTERM, "SIGTERM")];
        return new Registrations(registrations);
    }

    /// <summary>
    /// SIGUSR1 is the graceful stop of a distributed run: Ctrl-C in mpirun's terminal makes mpirun kill the job,
    /// but mpirun forwards SIGUSR1 to every rank (`kill -USR1 &lt;mpirun pid&gt;`). Linux numbering (x86-64, arm64).
    /// </summary>
    public const int SigUsr1 = 10;

    /// <summary>The signals a stop can come from, in the order <see cref="FromCode"/> numbers them (0 means none).</summary>
    static readonly string[] Known = ["SIGINT", "SIGTERM", "SIGUSR1"];

    /// <summary>1 + the index of this stop's signal in a fixed list, 1 + that list's length for a stop from code, 0 for none: what ranks exchange to agree on a reason.</summary>
    public int Code => _reason is null ? 0 : Array.IndexOf(Known, _reason) is var i and >= 0 ? i + 1 : Known.Length + 1;

    /// <summary>The reason a <see cref="Code"/> stands for, where this process did not get the signal itself.</summary>
    public static int Codes => Known.Length + 1;

    public static string FromCode(int code) => code >= 1 && code <= Known.Length ? Known[code - 1] : "a stop request on another rank";

    /// <summary>
    /// The exit code a shell expects after this signal (128 + signal number); SIGUSR1, the graceful stop that mpirun
    /// forwards, ends like SIGTERM (143), so a job scheduler sees one code for "stopped on request, checkpoint written".
    /// </summary>
    public int ExitCode => _reason switch { "SIGINT" => 130, "SIGTERM" or "SIGUSR1" => 143, _ => 1 };

    sealed class Registrations(PosixSignalRegistration[] items) : IDisposable
    {
        public void Dispose() { foreach (var r in items) r.Dispose(); }
    }
}
