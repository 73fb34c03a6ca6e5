using System.Runtime.InteropServices;

namespace FineTune.Training;

/// <summary>
/// A request to stop training cleanly: the trainer finishes the current step, writes a resumable checkpoint
/// and returns. Ctrl-C and SIGTERM set it; a second Ctrl-C kills the process as usual.
/// </summary>
public sealed class StopSignal
{
    volatile string? _reason;

    public bool Requested => _reason is not null;
    public string? Reason => _reason;

    public void Request(string reason) => _reason ??= reason;

    /// <summary>Routes SIGINT and SIGTERM to this signal while the returned object lives.</summary>
    public IDisposable ListenToProcessSignals()
    {
        PosixSignalRegistration Register(PosixSignal signal, string name) => PosixSignalRegistration.Create(signal, context =>
        {
            if (Requested) return; // second signal: let the default action end the process
            context.Cancel = true;
            Request(name);
            Console.Error.WriteLine($"\nfinetune: {name} received; finishing the current step and writing a resumable checkpoint (press Ctrl-C again to abort).");
        });
        return new Registrations([Register(PosixSignal.SIGINT, "SIGINT"), Register(PosixSignal.SIGTERM, "SIGTERM")]);
    }

    /// <summary>The exit code a shell expects after this signal (128 + signal number).</summary>
    public int ExitCode => _reason switch { "SIGINT" => 130, "SIGTERM" => 143, _ => 1 };

    sealed class Registrations(PosixSignalRegistration[] items) : IDisposable
    {
        public void Dispose() { foreach (var r in items) r.Dispose(); }
    }
}
