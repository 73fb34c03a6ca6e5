namespace FineTune.Training.TensorBoard;

/// <summary>CRC-32C (Castagnoli), as TFRecord frames use it, with TensorFlow's masking.</summary>
public static class Crc32C
{
    static readonly uint[] Table = BuildTable();

    static uint[] BuildTable()
    {
        var table = new uint[256];
        for (uint i = 0; i < 256; i++)
        {
            uint c = i;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0x82F63B78u ^ (c >> 1) : c >> 1;
            table[i] = c;
        }
        return table;
    }

    public static uint Compute(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFFu;
        foreach (var b in data) crc = Table[(crc ^ b) & 0xFF] ^ (crc >> 8);
        return crc ^ 0xFFFFFFFFu;
    }

    /// <summary>TensorFlow masks stored CRCs so that a CRC of data that itself holds CRCs stays well distributed.</summary>
    public static uint Masked(ReadOnlySpan<byte> data)
    {
        uint crc = Compute(data);
        return ((crc >> 15) | (crc << 17)) + 0xA282EAD8u;
    }
}
