using System.Collections;
using System.IO.Compression;
using static TorchSharp.torch;

namespace FineTune.Weights;

/// <summary>
/// The numbers a .pth's pickle gives each tensor (shape, stride, storage offset) become an allocation and a read
/// inside PyBridge, trusted as written. Before that happens they are checked, in checked 64-bit arithmetic, against
/// the storage file the tensor points into: a tensor may not reach past its storage's bytes, so a file of a few
/// bytes cannot declare a tensor of gigabytes (or one whose size wraps around).
/// </summary>
static class PickleStorages
{
    /// <summary>
    /// Checks every tensor description in <paramref name="table"/> (from PyBridge's skipTensorRead, nested
    /// "state_dict"/"model" wrappers included) against the zip entry it reads, and closes the streams they hold.
    /// </summary>
    public static void Check(Hashtable table, FileStream stream, string path)
    {
        stream.Position = 0;
        using var zip = new ZipArchive(stream, ZipArchiveMode.Read, leaveOpen: true);
        var entries = zip.Entries;
        Exception? first = null;
        Walk(table, (name, description) =>
        {
            try { if (first is null) CheckOne(name, description, entries, path); }
            catch (WeightsFormatException e) { first = e; }
            finally { (Property(description, "Data") as Stream)?.Dispose(); }
        });
        if (first is not null) throw first;
    }

    static void Walk(Hashtable table, Action<string, object> visit)
    {
        foreach (DictionaryEntry entry in table)
        {
            if (entry.Value is Hashtable inner) Walk(inner, visit);
            else if (entry.Value is not null && entry.Value.GetType().GetProperty("Shape") is not null) visit(entry.Key as string ?? "?", entry.Value);
        }
    }

    static void CheckOne(string name, object description, IReadOnlyList<ZipArchiveEntry> entries, string path)
    {
        var shape = (long[])Property(description, "Shape")!;
        var stride = (long[])Property(description, "Stride")!;
        long offset = Convert.ToInt64(Property(description, "StorageOffset"));
        int index = Convert.ToInt32(Property(description, "ArchiveIndex"));
        var dtype = (ScalarType)Property(description, "DType")!;
        WeightsFormatException Bad(string what) =>
            new($"{path} is damaged: tensor '{name}' (shape [{string.Join(", ", shape)}]) {what}. Re-save it with torch.save(model.state_dict(), path) or fetch it again.");

        if (shape.Length != stride.Length) throw Bad($"has {stride.Length} strides for {shape.Length} dimensions");
        if (shape.Any(d => d < 0) || stride.Any(s => s < 0) || offset < 0) throw Bad("has a negative size, stride or storage offset");
        if (index < 0 || index >= entries.Count) throw Bad("points to a storage that is not in the archive");
        long storageBytes = entries[index].Length;
        long needed;
        try
        {
            // Elements the view reaches in its storage: offset + sum((size - 1) * stride) + 1; none when a size is 0.
            long reach = offset;
            bool empty = shape.Any(d => d == 0);
            for (int k = 0; k < shape.Length && !empty; k++) reach = checked(reach + checked((shape[k] - 1) * stride[k]));
            long elements = shape.Aggregate(1L, (a, d) => checked(a * d));
            needed = checked(Math.Max(empty ? 0 : reach + 1, elements) * ElementSize(dtype));
        }
        catch (OverflowException)
        {
            throw Bad($"has sizes and strides whose byte count overflows 64 bits");
        }
        if (needed > storageBytes)
            throw Bad($"needs {needed} bytes of {dtype}, but its storage {entries[index].FullName} holds {storageBytes}");
    }

    static object? Property(object o, string name) =>
        (o.GetType().GetProperty(name) ?? throw new InvalidOperationException($"TorchSharp.PyBridge's tensor description has no {name}; this check was written for PyBridge 1.4."))
        .GetValue(o);

    static long ElementSize(ScalarType t) => t switch
    {
        ScalarType.Float64 or ScalarType.Int64 or ScalarType.ComplexFloat32 => 8,
        ScalarType.Float32 or ScalarType.Int32 => 4,
        ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Int16 => 2,
        ScalarType.ComplexFloat64 => 16,
        _ => 1, // Int8, Byte, Bool
    };
}
