using System.Security.Cryptography;

namespace FineTune.Weights;

/// <summary>
/// Fetches a torchvision file as torch.hub does: stream to a temporary file beside the target, check that the
/// SHA-256 starts with the digits in the file name, then rename into place, so the cache never holds a partial
/// or wrong file.
/// </summary>
public static class WeightsDownloader
{
    static readonly HttpClient Http = new() { Timeout = TimeSpan.FromMinutes(30) };

    /// <summary>Downloads <paramref name="fileName"/> from <paramref name="baseUrl"/> (default <see cref="TorchvisionFiles.BaseUrl"/>) into <paramref name="folder"/>; returns the file's path.</summary>
    public static string Download(string fileName, string folder, string? baseUrl = null, Action<string>? log = null)
    {
        var prefix = TorchvisionFiles.HashPrefixOf(fileName)
            ?? throw new ArgumentException($"'{fileName}' carries no SHA-256 prefix (name-<hex>.pth), so a download could not be checked.");
        var url = (baseUrl ?? TorchvisionFiles.BaseUrl).TrimEnd('/') + "/" + fileName;
        Directory.CreateDirectory(folder);
        var target = Path.Combine(folder, fileName);
        var temp = Path.Combine(folder, $".{fileName}.{Guid.NewGuid():N}.part");
        string Fallback() => $"put {fileName} at {target} by hand (fetch {url} on a machine with network access)";
        try
        {
            log?.Invoke($"downloading {url} -> {target}");
            using var response = Http.Send(new HttpRequestMessage(HttpMethod.Get, url), HttpCompletionOption.ResponseHeadersRead);
            if (!response.IsSuccessStatusCode)
                throw new WeightsNotFoundException($"Downloading {url} failed with HTTP {(int)response.StatusCode} {response.ReasonPhrase}: {Fallback()}.");

            using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            using (var body = response.Content.ReadAsStream())
            using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write))
            {
                var buffer = new byte[1 << 20];
                int n;
                while ((n = body.Read(buffer)) > 0)
                {
                    sha.AppendData(buffer, 0, n);
                    file.Write(buffer, 0, n);
                }
                file.Flush(flushToDisk: true);
            }
            var actual = Convert.ToHexStringLower(sha.GetHashAndReset());
            if (!actual.StartsWith(prefix, StringComparison.Ordinal))
                throw new WeightsDownloadException(
                    $"Downloaded {fileName} from {url}, but its SHA-256 is {actual}, which does not start with {prefix} as the file name says; " +
                    $"the file was discarded: try again, or {Fallback()}.");
            File.Move(temp, target, overwrite: true);
            log?.Invoke($"verified {fileName} (sha256 {actual[..16]}...)");
            return target;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
        {
            var why = e is TaskCanceledException ? "timed out" : e.Message;
            throw new WeightsNotFoundException($"Cannot download {url} ({why}): {Fallback()}.");
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }
}
