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
        if (!ElementSizes.TryGetValue(dtype, out long elementSize))
            throw Bad($"has dtype {dtype}, whose element size this reader does not know (it reads the {ElementSizes.Count} storage types torch.save writes for a state dict)");
        long needed;
        try
        {
            // Elements the view reaches in its storage: offset + sum((size - 1) * stride) + 1; none when a size is 0.
            long reach = offset;
            bool empty = shape.Any(d => d == 0);
            for (int k = 0; k < shape.Length && !empty; k++) reach = checked(reach + checked((shape[k] - 1) * stride[k]));
            long elements = shape.Aggregate(1L, (a, d) => checked(a * d));
            needed = checked(Math.Max(empty ? 0 : reach + 1, elements) * elementSize);
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

    /// <summary>
    /// The dtypes of the storages <see cref="PickleGuard"/> allows (DoubleStorage ... ComplexFloatStorage). Anything else
    /// is refused: guessing its size could let a tensor read past its storage.
    /// </summary>
    static readonly Dictionary<ScalarType, long> ElementSizes = new()
    {
        [ScalarType.Float64] = 8, [ScalarType.Float32] = 4, [ScalarType.Float16] = 2, [ScalarType.BFloat16] = 2,
        [ScalarType.Int64] = 8, [ScalarType.Int32] = 4, [ScalarType.Int16] = 2, [ScalarType.Int8] = 1, [ScalarType.Byte] = 1,
        [ScalarType.Bool] = 1, [ScalarType.ComplexFloat64] = 16, [ScalarType.ComplexFloat32] = 8,
    };
}
