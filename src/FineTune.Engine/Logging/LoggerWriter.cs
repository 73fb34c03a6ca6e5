using System.Text;
using Microsoft.Extensions.Logging;

namespace FineTune.Logging;

/// <summary>
/// The library's lines as an <see cref="ILogger"/>'s messages: each line written becomes one Information message,
/// and <see cref="Warning"/> one Warning. The engine writes its lines (kernel plan, precision, epoch summaries) to a
/// TextWriter, so this adapter is the one place where they meet the host's logger; with no logger it is silent.
/// </summary>
public sealed class LoggerWriter : TextWriter
{
    readonly ILogger? _logger;
    readonly StringBuilder _line = new();
    readonly object _gate = new(); // Monitor: WriteLine re-enters through Write

    public LoggerWriter(ILogger? logger) => _logger = logger;

    /// <summary>A writer that drops everything: what the library does when the host gave it no logger.</summary>
    public static LoggerWriter Quiet { get; } = new(null);

    /// <summary>Whether anything written here goes anywhere (callers can skip work that only makes a line).</summary>
    public bool Enabled => _logger is not null;

    public override Encoding Encoding => Encoding.UTF8;

    public override void Write(char value)
    {
        if (_logger is null) return;
        lock (_gate)
        {
            if (value == '\n') Emit();
            else if (value != '\r') _line.Append(value);
        }
    }

    public override void Write(string? value)
    {
        if (_logger is null || value is null) return;
        foreach (var c in value) Write(c);
    }

    public override void WriteLine(string? value)
    {
        if (_logger is null) return;
        lock (_gate)
        {
            Write(value);
            Emit();
        }
    }

    /// <summary>Something the user should act on (a file left out, a cache that could not be written).</summary>
    public void Warning(string message) => _logger?.LogWarning("{Message}", message);

    void Emit()
    {
        var text = _line.ToString();
        _line.Clear();
        _logger!.LogInformation("{Message}", text);
    }

    protected override void Dispose(bool disposing)
    {
        // A last line without its newline is still a line.
        if (disposing && _logger is not null) lock (_gate) if (_line.Length > 0) Emit();
        base.Dispose(disposing);
    }
}
