namespace FineTune.Data;

/// <summary>A problem with a dataset a user brought (layout, class sizes, split ratios): one line naming the thing and the fix.</summary>
public sealed class DatasetException(string message) : FineTuneException(message);
