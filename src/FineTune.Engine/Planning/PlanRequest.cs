namespace FineTune.Planning;

/// <summary>
/// What the planner plans from: the split's sizes, the photos' typical size, this machine's measured costs, the time
/// budget and what is already spent of it (scanning, measuring), and the user's overrides (null: the planner chooses).
/// </summary>
public sealed record PlanRequest(
    int TrainImages, int ValImages, int TestImages, int MedianShortSide,
    MachineCosts Costs, TimeSpan Budget, TimeSpan Spent, bool Gpu,
    int? Epochs = null, int? ImageSize = null);
