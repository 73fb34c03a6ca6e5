namespace FineTune.Evaluation;

/// <summary>RFC 4180 fields: quoted only when they hold a comma, quote or line break.</summary>
static class Csv
{
    public static string Field(string value) =>
        value.AsSpan().IndexOfAny(",\"\r\n") < 0 ? value : "\"" + value.Replace("\"", "\"\"") + "\"";

    public static string Line(IEnumerable<string> fields) => string.Join(",", fields.Select(Field)) + "\n";
}
