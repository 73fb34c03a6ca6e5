using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;

namespace FineTune.IO;

/// <summary>
/// What a downloaded file must be. <see cref="Size"/>: its length in bytes (else the length the server announces is
/// checked). <see cref="Sha256"/>: its whole SHA-256 in hex. <see cref="Sha256Prefix"/>: the leading hex digits of its
/// SHA-256, as torchvision carries them in its file names (resnet18-f37072fd.pth).
/// </summary>
public sealed record DownloadCheck(long? Size = null, string? Sha256 = null, string? Sha256Prefix = null);

/// <summary>
/// The one downloader (the Caltech-101 archive, torchvision weights). The bytes go to a part file beside the target,
/// flushed to disk, are checked (size, SHA-256) and only then renamed into place, so the target is never a partial
/// or wrong file. Resumable: the part file is `destination.part` and survives an interruption, and the next call asks
/// the server for the rest (HTTP Range). Not resumable: the part file has a unique name and is always deleted on failure.
/// IOException: the download could not finish (network, HTTP error, cut short); try again.
/// InvalidDataException: what arrived is not the expected file (size or hash); it is deleted.
/// Every message names the URL and ends with <c>fallback</c>, what the user can do instead.
/// </summary>
public static class Download
{
    public static string Fetch(Uri url, string destination, DownloadCheck? check = null, bool resumable = true,
        string fallback = "download the file yourself", HttpMessageHandler? handler = null, Action<string>? log = null)
    {
        check ??= new DownloadCheck();
        if (File.Exists(destination))
        {
            Verify(destination, check.Size, check, url, fallback, deleteOnMismatch: false);
            log?.Invoke($"{destination} already downloaded and verified.");
            return destination;
        }
        var folder = Path.GetDirectoryName(Path.GetFullPath(destination))!;
        Directory.CreateDirectory(folder);
        var part = resumable ? destination + ".part" : Path.Combine(folder, $".{Path.GetFileName(destination)}.{Guid.NewGuid():N}.part");
        try
        {
            using var client = new HttpClient(handler ?? new HttpClientHandler(), disposeHandler: handler is null) { Timeout = TimeSpan.FromHours(2) };
            long? total = Transfer(client, url, part, destination, resumable, fallback, log);
            // Short: resumable. Long (a server that resent bytes): Verify deletes it, as no resume can repair it.
            long have = new FileInfo(part).Length;
            if (check.Size is null && total is not null && have < total)
                throw new IOException($"Download of {url} stopped at {have:N0} of {total:N0} bytes; {Again(resumable)}, or {fallback}.");
            var sha = Verify(part, check.Size ?? total, check, url, fallback, deleteOnMismatch: true, resumable);
            File.Move(part, destination, overwrite: true);
            log?.Invoke($"Verified {destination} ({have:N0} bytes, sha256 {sha[..16]}...).");
            return destination;
        }
        finally
        {
            if (!resumable && File.Exists(part)) File.Delete(part);
        }
    }

    /// <summary>Streams the body into <paramref name="part"/> (appending where a resume is granted); returns the file's whole length when the server says it.</summary>
    static long? Transfer(HttpClient client, Uri url, string part, string destination, bool resumable, string fallback, Action<string>? log)
    {
        long have = resumable && File.Exists(part) ? new FileInfo(part).Length : 0;
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        if (have > 0) request.Headers.Range = new RangeHeaderValue(have, null);
        HttpResponseMessage response;
        try { response = client.Send(request, HttpCompletionOption.ResponseHeadersRead); }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            throw new IOException($"Could not reach {url} ({Why(e)}); check the network, or {fallback}.", e);
        }
        using (response)
        {
            if (response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable && have > 0)
                return response.Content.Headers.ContentRange?.Length ?? have; // the part file is already whole
            if (!response.IsSuccessStatusCode)
                throw new IOException($"Download of {url} failed with HTTP {(int)response.StatusCode} {response.ReasonPhrase}; check the URL, or {fallback}.");
            bool resumed = response.StatusCode == HttpStatusCode.PartialContent && have > 0;
            if (!resumed) have = 0; // the server ignored the range: start over
            log?.Invoke(resumed ? $"Resuming {url} at {have:N0} bytes." : $"Downloading {url} -> {destination}.");
            try
            {
                using var input = response.Content.ReadAsStream();
                using var output = new FileStream(part, resumed ? FileMode.Append : FileMode.Create, FileAccess.Write);
                input.CopyTo(output, 1 << 20);
                output.Flush(flushToDisk: true);
            }
            catch (Exception e) when (e is IOException or HttpRequestException or TaskCanceledException)
            {
                throw new IOException($"Download of {url} broke off at {(File.Exists(part) ? new FileInfo(part).Length : 0):N0} bytes ({Why(e)}); {Again(resumable)}, or {fallback}.", e);
            }
            return resumed ? response.Content.Headers.ContentRange?.Length : response.Content.Headers.ContentLength;
        }
    }

    /// <summary>Checks size and hash; returns the SHA-256. A file too short is left for a resume; any other mismatch is deleted when <paramref name="deleteOnMismatch"/>.</summary>
    static string Verify(string path, long? size, DownloadCheck check, Uri url, string fallback, bool deleteOnMismatch, bool resumable = true)
    {
        long actual = new FileInfo(path).Length;
        if (size is not null && actual < size)
            throw new IOException($"Download of {url} is incomplete ({actual:N0} of {size:N0} bytes); {Again(resumable)}, or {fallback}.");
        string? problem = size is not null && actual > size ? $"is {actual:N0} bytes, expected {size:N0}" : null;
        string hash;
        using (var f = File.OpenRead(path)) hash = Convert.ToHexStringLower(SHA256.HashData(f));
        if (problem is null && check.Sha256 is { } sha256 && !hash.Equals(sha256, StringComparison.OrdinalIgnoreCase))
            problem = $"has SHA-256 {hash}, expected {sha256.ToLowerInvariant()}";
        if (problem is null && check.Sha256Prefix is { } prefix && !hash.StartsWith(prefix.ToLowerInvariant(), StringComparison.Ordinal))
            problem = $"has SHA-256 {hash}, which does not start with {prefix} as its file name says";
        if (problem is null) return hash;
        if (deleteOnMismatch) File.Delete(path);
        throw new InvalidDataException(deleteOnMismatch
            ? $"Downloaded file '{path}' from {url} {problem}; it was deleted. Run the command again to download afresh, or {fallback}."
            : $"File '{path}' (from {url}) {problem}; delete it and run the command again to download afresh, or {fallback}.");
    }

    static string Again(bool resumable) => resumable ? "run the same command again to resume" : "try again";

    static string Why(Exception e) => e is TaskCanceledException ? "timed out" : e.Message;
}
