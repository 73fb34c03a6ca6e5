using System.Buffers.Binary;
using System.Text;

namespace FineTune.Native;

/// <summary>
/// Reads and edits the symbol-versioning sections of a 64-bit little-endian ELF shared object:
/// the versions it needs from other libraries (.gnu.version_r) and the ones it defines (.gnu.version_d).
/// Just enough ELF to mark one needed version weak; see TorchNative for why.
/// </summary>
public sealed class ElfVersionInfo
{
    const uint ShtGnuVerdef = 0x6ffffffd;
    const uint ShtGnuVerneed = 0x6ffffffe;
    public const ushort VerFlagWeak = 0x2;

    /// <summary>A version this object needs: which library, which version name, the flags, and where the flags live.</summary>
    public sealed record Need(string File, string Version, ushort Flags, long FlagsOffset)
    {
        public bool IsWeak => (Flags & VerFlagWeak) != 0;
    }

    public IReadOnlyList<Need> Needs { get; }
    public IReadOnlyList<string> Definitions { get; }

    ElfVersionInfo(IReadOnlyList<Need> needs, IReadOnlyList<string> definitions)
    {
        Needs = needs;
        Definitions = definitions;
    }

    public static ElfVersionInfo Read(string path) => Parse(File.ReadAllBytes(path), path);

    public static ElfVersionInfo Parse(byte[] elf, string nameForErrors)
    {
        if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F')
            throw new InvalidDataException($"{nameForErrors} is not an ELF file.");
        if (elf[4] != 2 || elf[5] != 1)
            throw new InvalidDataException($"{nameForErrors} is not a 64-bit little-endian ELF file.");

        var span = elf.AsSpan();
        long shoff = (long)BinaryPrimitives.ReadUInt64LittleEndian(span[0x28..]);
        int shentsize = BinaryPrimitives.ReadUInt16LittleEndian(span[0x3A..]);
        int shnum = BinaryPrimitives.ReadUInt16LittleEndian(span[0x3C..]);

        var sections = new List<(uint Type, long Offset, long Size, int Link, int Info)>();
        for (int i = 0; i < shnum; i++)
        {
            var h = span.Slice(checked((int)(shoff + i * shentsize)), shentsize);
            sections.Add((BinaryPrimitives.ReadUInt32LittleEndian(h[4..]),
                          (long)BinaryPrimitives.ReadUInt64LittleEndian(h[0x18..]),
                          (long)BinaryPrimitives.ReadUInt64LittleEndian(h[0x20..]),
                          (int)BinaryPrimitives.ReadUInt32LittleEndian(h[0x28..]),
                          (int)BinaryPrimitives.ReadUInt32LittleEndian(h[0x2C..])));
        }

        string Str(int strtabIndex, uint offset)
        {
            long start = sections[strtabIndex].Offset + offset;
            int end = (int)start;
            while (elf[end] != 0) end++;
            return Encoding.ASCII.GetString(elf, (int)start, end - (int)start);
        }

        var needs = new List<Need>();
        var defs = new List<string>();
        foreach (var s in sections)
        {
            if (s.Type == ShtGnuVerneed)
            {
                long vn = s.Offset;
                for (int n = 0; n < s.Info; n++)
                {
                    ushort cnt = BinaryPrimitives.ReadUInt16LittleEndian(span[(int)(vn + 2)..]);
                    string file = Str(s.Link, BinaryPrimitives.ReadUInt32LittleEndian(span[(int)(vn + 4)..]));
                    long aux = vn + BinaryPrimitives.ReadUInt32LittleEndian(span[(int)(vn + 8)..]);
                    for (int a = 0; a < cnt; a++)
                    {
                        ushort flags = BinaryPrimitives.ReadUInt16LittleEndian(span[(int)(aux + 4)..]);
                        string name = Str(s.Link, BinaryPrimitives.ReadUInt32LittleEndian(span[(int)(aux + 8)..]));
                        needs.Add(new Need(file, name, flags, aux + 4));
                        aux += BinaryPrimitives.ReadUInt32LittleEndian(span[(int)(aux + 12)..]);
                    }
                    uint next = BinaryPrimitives.ReadUInt32LittleEndian(span[(int)(vn + 12)..]);
                    if (next == 0) break;
                    vn += next;
                }
            }
            else if (s.Type == ShtGnuVerdef)
            {
                long vd = s.Offset;
                for (int n = 0; n < s.Info; n++)
                {
                    long aux = vd + BinaryPrimitives.ReadUInt32LittleEndian(span[(int)(vd + 12)..]);
                    defs.Add(Str(s.Link, BinaryPrimitives.ReadUInt32LittleEndian(span[(int)aux..])));
                    uint next = BinaryPrimitives.ReadUInt32LittleEndian(span[(int)(vd + 16)..]);
                    if (next == 0) break;
                    vd += next;
                }
            }
        }
        return new ElfVersionInfo(needs, defs);
    }

    /// <summary>Returns a copy of <paramref name="elf"/> in which the given needed versions are marked weak.</summary>
    public byte[] WithWeak(byte[] elf, IEnumerable<Need> needs)
    {
        var copy = (byte[])elf.Clone();
        foreach (var need in needs)
            BinaryPrimitives.WriteUInt16LittleEndian(copy.AsSpan((int)need.FlagsOffset), (ushort)(need.Flags | VerFlagWeak));
        return copy;
    }
}
