using System.Text;
using FineTune.Config;
using Xunit;

namespace FineTune.Tests.Config;

/// <summary>
/// docs/config.md's key tables are made from <see cref="ConfigKeys.All"/>, the keys the loader reads and the printer
/// writes. When a key is added, renamed or re-documented, this test fails until the docs follow:
/// `FINETUNE_WRITE_DOCS=1 dotnet test --filter ConfigDocsTests` rewrites the tables in place.
/// </summary>
public class ConfigDocsTests
{
    const string Begin = "<!-- key tables: generated from ConfigKeys.All (src/FineTune.Engine/Config/ConfigKeys.cs); FINETUNE_WRITE_DOCS=1 dotnet test --filter ConfigDocsTests rewrites them -->";
    const string End = "<!-- end of generated key tables -->";

    [Fact]
    public void Docs_config_md_lists_every_key_as_the_loader_reads_it()
    {
        var path = RepoFiles.Path("docs", "config.md");
        var text = File.ReadAllText(path);
        int begin = text.IndexOf(Begin, StringComparison.Ordinal), end = text.IndexOf(End, StringComparison.Ordinal);
        Assert.True(begin >= 0 && end > begin, $"{path} has lost its markers around the key tables ({Begin} ... {End}).");
        var expected = Begin + "\n" + Tables() + End;
        var actual = text[begin..(end + End.Length)];
        if (actual != expected && Environment.GetEnvironmentVariable("FINETUNE_WRITE_DOCS") == "1")
        {
            File.WriteAllText(path, text[..begin] + expected + text[(end + End.Length)..]);
            return;
        }
        Assert.True(actual == expected,
            $"docs/config.md's key tables differ from ConfigKeys.All; run `FINETUNE_WRITE_DOCS=1 dotnet test --filter ConfigDocsTests` and commit docs/config.md. First difference: {FirstDifference(expected, actual)}");
    }

    static string Tables()
    {
        var sb = new StringBuilder();
        foreach (var section in ConfigKeys.Sections.Where(s => !s.Contains('.')))
        {
            sb.Append("## `").Append(section).Append("`\n\n| key | type | default | meaning |\n|---|---|---|---|\n");
            foreach (var key in ConfigKeys.All.Where(k => k.Section == section || k.Section.StartsWith(section + ".")))
            {
                var byDefault = key.DefaultDoc ?? "`" + ConfigPrinter.Format(key.Value(FineTuneConfig.Defaults)) + "`";
                sb.Append($"| `{key.PathInSection}`{(key.New ? " *new*" : "")} | {key.Type} | {byDefault} | {key.Doc} |\n");
            }
            sb.Append('\n');
        }
        return sb.ToString();
    }

    static string FirstDifference(string expected, string actual)
    {
        var e = expected.Split('\n');
        var a = actual.Split('\n');
        for (int i = 0; i < Math.Max(e.Length, a.Length); i++)
        {
            var el = i < e.Length ? e[i] : "(nothing)";
            var al = i < a.Length ? a[i] : "(nothing)";
            if (el != al) return $"line {i + 1} of the tables should be\n{el}\nbut is\n{al}";
        }
        return "none";
    }
}
