using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace FineTune.Data;

/// <summary>
/// The identity of a split, as a checkpoint records it (CheckpointInfo.SplitManifestHash): SHA-256 over the seed,
/// the ratios, the class list and every (path, class, split, content hash) line in the manifest's ordinal order.
/// Computed from the manifest's content, not from split.json's bytes, so re-indenting the file changes nothing,
/// while moving one image between splits or editing one image does.
/// </summary>
public static class SplitManifestHash
{
    public static string ContentHash(this SplitManifest manifest)
    {
        var text = new StringBuilder();
        text.Append("finetune-split/").Append(manifest.Version.ToString(CultureInfo.InvariantCulture)).Append('\n');
        text.Append("seed ").Append(manifest.Seed.ToString(CultureInfo.InvariantCulture)).Append('\n');
        text.Append("ratios ").Append(manifest.Ratios.ToString()).Append('\n');
        foreach (var c in manifest.Classes) text.Append("class ").Append(c).Append('\n');
        foreach (var e in manifest.Entries.OrderBy(e => e.Path, StringComparer.Ordinal))
            text.Append(e.Path).Append('\t').Append(e.Class).Append('\t').Append(e.Split.ToString().ToLowerInvariant()).Append('\t').Append(e.Sha256).Append('\n');
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())));
    }
}
