using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;

namespace FineTune.Data.Archives;

/// <summary>
/// Fetches an archive over HTTP into `destination.part`, resuming from what is already there (HTTP Range), then checks
/// the size (given, or announced by the server) and, when given, the SHA-256, before renaming it into place.
/// </summary>
public static class Downloader
{
    /// <summary>Caltech's data repository record for Caltech-101 (CC BY 4.0).</summary>
    public const string OfficialUrl = "https://data.caltech.edu/records/mzrjq-6wc02/files/caltech-101.zip";

    public static string Fetch(Uri url, string destination, long? expectedSize = null, string? expectedSha256 = null,
        HttpMessageHandler? handler = null, Action<string>? log = null)
    {
        if (File.Exists(destination))
        {
            Check(destination, expectedSize, expectedSha256, url, deleteOnMismatch: false);
            log?.Invoke($"{destination} already downloaded and verified.");
            return destination;
        }
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(destination))!);
        var part = destination + ".part";
        using var client = new HttpClient(handler ?? new HttpClientHandler(), disposeHandler: handler is null) { Timeout = TimeSpan.FromHours(2) };
        long have = File.Exists(part) ? new FileInfo(part).Length : 0;
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        if (have > 0) request.Headers.Range = new RangeHeaderValue(have, null);
        HttpResponseMessage response;
        try { response = client.Send(request, HttpCompletionOption.ResponseHeadersRead); }
        catch (HttpRequestException e) { throw new IOException($"Could not reach {url} ({e.Message}); check the network, or download the archive yourself and pass --archive.", e); }
        using (response)
        {
            long? total;
            if (response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable && have > 0)
            {
                total = response.Content.Headers.ContentRange?.Length ?? have; // the part file is already whole
            }
            else
            {
                if (!response.IsSuccessStatusCode)
                    throw new IOException($"Download of {url} failed: HTTP {(int)response.StatusCode} {response.ReasonPhrase}; check the URL, or pass --archive with a file you have.");
                bool resumed = response.StatusCode == HttpStatusCode.PartialContent && have > 0;
                if (!resumed) have = 0; // the server ignored the range: start over
                total = resumed ? response.Content.Headers.ContentRange?.Length : response.Content.Headers.ContentLength;
                log?.Invoke(resumed ? $"Resuming {url} at {have:N0} bytes." : $"Downloading {url}.");
                using var input = response.Content.ReadAsStream();
                using var output = new FileStream(part, resumed ? FileMode.Append : FileMode.Create, FileAccess.Write);
                input.CopyTo(output);
            }
            // Short: resumable. Long (a server that resent bytes): Check deletes it, as no resume can repair it.
            if (expectedSize is null && total is not null && new FileInfo(part).Length < total)
                throw new IOException($"Download of {url} stopped at {new FileInfo(part).Length:N0} of {total:N0} bytes; run the same command again to resume.");
            Check(part, expectedSize ?? total, expectedSha256, url, deleteOnMismatch: true);
        }
        File.Move(part, destination, overwrite: true);
        return destination;
    }

    static void Check(string path, long? size, string? sha256, Uri url, bool deleteOnMismatch)
    {
        long actual = new FileInfo(path).Length;
        if (size is not null && actual < size)
            throw new IOException($"Download of {url} is incomplete ({actual:N0} of {size:N0} bytes); run the same command again to resume.");
        string? problem = size is not null && actual > size ? $"is {actual:N0} bytes, expected {size:N0}" : null;
        if (problem is null && sha256 is not null)
        {
            using var f = File.OpenRead(path);
            var hash = Convert.ToHexStringLower(SHA256.HashData(f));
            if (!hash.Equals(sha256, StringComparison.OrdinalIgnoreCase)) problem = $"has SHA-256 {hash}, expected {sha256.ToLowerInvariant()}";
        }
        if (problem is null) return;
        if (deleteOnMismatch) File.Delete(path);
        throw new InvalidDataException($"Downloaded file '{path}' from {url} {problem}; it was deleted{(deleteOnMismatch ? "" : " (no: delete it yourself)")}. Run the command again to download afresh.");
    }
}
