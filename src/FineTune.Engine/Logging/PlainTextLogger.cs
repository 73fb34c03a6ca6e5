using Microsoft.Extensions.Logging;

namespace FineTune.Logging;

/// <summary>
/// An <see cref="ILogger"/> that writes each message as it is, one line, with no level, category or time stamp:
/// what the `finetune` command prints. Information and below go to <c>output</c>, warnings and errors to
/// <c>errors</c> (the same writer when none is given). For a service, give the options your host's logger instead.
/// </summary>
public sealed class PlainTextLogger(TextWriter output, TextWriter? errors = null, LogLevel minimum = LogLevel.Information) : ILogger
{
    readonly object _gate = new();

    /// <summary>The console as the command line uses it: messages on stdout, warnings on stderr.</summary>
    public static PlainTextLogger Console() => new(System.Console.Out, System.Console.Error);

    public bool IsEnabled(LogLevel logLevel) => logLevel >= minimum && logLevel != LogLevel.None;

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (!IsEnabled(logLevel)) return;
        var writer = logLevel >= LogLevel.Warning ? errors ?? output : output;
        var message = formatter(state, exception);
        lock (_gate)
        {
            writer.WriteLine(exception is null ? message : $"{message}{Environment.NewLine}{exception}");
            writer.Flush();
        }
    }
}
