using System.Security.Cryptography;

namespace FineTune.Weights;

/// <summary>Names files by content, for caches that must notice when their source changes.</summary>
public static class ContentHash
{
    /// <summary>The first <paramref name="length"/> hex digits of the file's SHA-256.</summary>
    public static string Sha256Prefix(string path, int length = 16)
    {
        using var file = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(file))[..length];
    }
}
