namespace FineTune.Cli.Parsing;

/// <summary>
/// "did you mean --config?": the known name closest to a mistyped one, counting a swap of two neighbouring
/// letters as one edit (optimal string alignment distance), or null when nothing is close enough to be a typo.
/// </summary>
public static class NearestName
{
    public static string? Find(string typed, IEnumerable<string> known)
    {
        string? best = null;
        int bestDistance = int.MaxValue;
        foreach (var name in known)
        {
            int d = Distance(typed, name);
            if (d < bestDistance) (best, bestDistance) = (name, d);
        }
        // A third of the letters may be wrong (at least one): `confg`, `stesp`, `epoch`; `colour` is not `classes`.
        return best is not null && bestDistance <= Math.Max(1, typed.Length / 3) ? best : null;
    }

    /// <summary>Insertions, deletions, substitutions and swaps of adjacent letters, each counting one.</summary>
    public static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (int i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (int j = 0; j <= b.Length; j++) d[0, j] = j;
        for (int i = 1; i <= a.Length; i++)
            for (int j = 1; j <= b.Length; j++)
            {
                int cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                    d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
            }
        return d[a.Length, b.Length];
    }
}
