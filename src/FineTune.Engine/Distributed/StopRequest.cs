using System.Runtime.InteropServices;

namespace FineTune.Distributed;

/// <summary>
/// Turns Ctrl-C (SIGINT) and SIGUSR1 into a request to stop at the end of the current step, so that a
/// training loop can stop every rank together and write its last checkpoint. A second Ctrl-C ends the
/// process at once, as usual.
///
/// Why SIGUSR1 too: Ctrl-C in mpirun's terminal goes to mpirun, which kills the whole job; mpirun
/// forwards SIGUSR1 and SIGUSR2 to every rank, so `kill -USR1 &lt;mpirun pid&gt;` is the graceful stop of a
/// distributed run. A SIGINT sent to one rank (`kill -INT &lt;pid&gt;`) stops all of them too, because the
/// flag is all-reduced each step (<see cref="DistributedContext.ShouldStop"/>).
/// </summary>
public sealed class StopRequest : IDisposable
{
    const int SigUsr1 = 10; // Linux x86-64 / arm64
    readonly List<PosixSignalRegistration> _registrations = [];
    volatile bool _requested;

    public bool IsRequested => _requested;
    public string? Reason { get; private set; }

    public StopRequest()
    {
        _registrations.Add(PosixSignalRegistration.Create(PosixSignal.SIGINT, ctx => OnSignal(ctx, "Ctrl-C (SIGINT)")));
        if (OperatingSystem.IsLinux())
            _registrations.Add(PosixSignalRegistration.Create((PosixSignal)SigUsr1, ctx => OnSignal(ctx, "SIGUSR1")));
    }

    void OnSignal(PosixSignalContext context, string what)
    {
        if (_requested) return; // the second signal: default handling ends the process
        context.Cancel = true;
        Reason = what;
        _requested = true;
    }

    /// <summary>Asks to stop from code (e.g. early stopping on one rank).</summary>
    public void Request(string reason)
    {
        Reason ??= reason;
        _requested = true;
    }

    public void Dispose()
    {
        foreach (var r in _registrations) r.Dispose();
        _registrations.Clear();
    }
}
