namespace FineTune;

/// <summary>The device asked for (the seed's `--gpu`) is malformed or not available in this build; the message says which and what to do.</summary>
public sealed class DeviceNotAvailableException(string message, Exception? inner = null) : FineTuneException(message, ExitCodes.Usage, inner);
