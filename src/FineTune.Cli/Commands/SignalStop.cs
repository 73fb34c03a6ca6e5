using System.Runtime.InteropServices;

namespace FineTune.Cli.Commands;

/// <summary>
/// Maps SIGINT, SIGTERM and (on Linux) SIGUSR1 onto a <see cref="CancellationTokenSource"/>, the engine's one stop
/// mechanism: training finishes the current step, writes a resumable checkpoint and returns. A second signal is left
/// to its default action, so a second Ctrl-C ends the process at once. Signals are caught only while <see cref="Listen"/>'s
/// registration lives (training); outside it they end the process as usual.
///
/// Why SIGUSR1 too: Ctrl-C in mpirun's terminal goes to mpirun, which kills the whole job; mpirun forwards SIGUSR1 to
/// every rank (`kill -USR1 &lt;mpirun pid&gt;`), so it is the graceful stop of a distributed run. A signal sent to one
/// rank stops all of them too, because the trainer all-reduces the flag each step.
/// </summary>
public sealed class SignalStop : IDisposable
{
    /// <summary>SIGUSR1's number on Linux (x86-64, arm64); PosixSignal has no name for it.</summary>
    public const int SigUsr1 = 10;

    readonly CancellationTokenSource _source = new();
    readonly string? _announcement;
    volatile string? _signal;

    /// <param name="announcement">Printed on stderr after "finetune: SIGxxx received; " (null: say nothing).</param>
    public SignalStop(string? announcement = "finishing the current step and writing a resumable checkpoint (press Ctrl-C again to abort).")
    {
        _announcement = announcement;
    }

    public CancellationToken Token => _source.Token;

    /// <summary>The signal that cancelled <see cref="Token"/> (SIGINT, SIGTERM, SIGUSR1), or null.</summary>
    public string? Signal => _signal;

    /// <summary>Routes the signals to <see cref="Token"/> until the returned object is disposed.</summary>
    public IDisposable Listen()
    {
        PosixSignalRegistration[] registrations = OperatingSystem.IsLinux()
            ? [Register(PosixSignal.SIGINT, "SIGINT"), Register(PosixSignal.SIGTERM, "SIGTERM"), Register((PosixSignal)SigUsr1, "SIGUSR1")]
            : [Register(PosixSignal.SIGINT, "SIGINT"), Register(PosixSignal.SIGTERM, "SIGTERM")];
        return new Registrations(registrations);
    }

    PosixSignalRegistration Register(PosixSignal signal, string name) => PosixSignalRegistration.Create(signal, context =>
    {
        if (_signal is not null) return; // the second signal: its default action ends the process
        context.Cancel = true;
        _signal = name;
        if (_announcement is not null) Console.Error.WriteLine($"\nfinetune: {name} received; {_announcement}");
        _source.Cancel();
    });

    public void Dispose() => _source.Dispose();

    sealed class Registrations(PosixSignalRegistration[] items) : IDisposable
    {
        public void Dispose() { foreach (var r in items) r.Dispose(); }
    }
}
