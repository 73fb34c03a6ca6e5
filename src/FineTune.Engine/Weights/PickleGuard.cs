using System.Buffers.Binary;
using System.Text;

namespace FineTune.Weights;

/// <summary>
/// Reads a pickle's opcodes without running any of them and refuses the file unless every Python object it
/// names is one a torch state dict needs. A pickle is a program: GLOBAL/STACK_GLOBAL/INST fetch any callable
/// (os.system, builtins.eval) and REDUCE/NEWOBJ/OBJ/BUILD call it. Calls can only reach callables fetched
/// by those opcodes, so allowing only a few globals (and refusing opcodes that fetch callables another way:
/// EXT*, PERSID) leaves nothing to run but tensor rebuilding and dict construction.
/// </summary>
public static class PickleGuard
{
    /// <summary>What torch.save writes for a state dict (protocol 2: GLOBAL; newer protocols: STACK_GLOBAL).</summary>
    static readonly HashSet<(string Module, string Name)> AllowedGlobals =
    [
        ("collections", "OrderedDict"),
        ("torch._utils", "_rebuild_tensor"),
        ("torch._utils", "_rebuild_tensor_v2"),
        ("torch._utils", "_rebuild_parameter"),
        .. new[] { "Double", "Float", "Half", "BFloat16", "Long", "Int", "Short", "Char", "Byte", "Bool", "ComplexDouble", "ComplexFloat" }
            .Select(t => ("torch", t + "Storage")),
    ];

    /// <summary>Throws <see cref="UnsafePickleException"/> unless <paramref name="pickle"/> only builds tensors and plain containers.</summary>
    public static void Check(ReadOnlySpan<byte> pickle, string source) => new Scanner(source).Run(pickle);

    /// <summary>A stack machine that tracks only what the check needs: which stack items are strings (for STACK_GLOBAL).</summary>
    sealed class Scanner(string source)
    {
        static readonly object Mark = new(), Other = new();
        readonly List<object> _stack = [];
        readonly Dictionary<long, object> _memo = [];
        int _pos;

        public void Run(ReadOnlySpan<byte> p)
        {
            _pos = 0;
            while (true)
            {
                if (_pos >= p.Length) throw Malformed("ends before its STOP opcode");
                int at = _pos;
                byte op = p[_pos++];
                switch (op)
                {
                    case (byte)'.': return; // STOP
                    case 0x80: Take(p, 1); break; // PROTO
                    case 0x95: Take(p, 8); break; // FRAME

                    // Values that are not strings.
                    case (byte)'N' or 0x88 or 0x89 or (byte)'}' or (byte)']' or (byte)')' or 0x8f: Push(Other); break;
                    case (byte)'K': Take(p, 1); Push(Other); break; // BININT1
                    case (byte)'M': Take(p, 2); Push(Other); break; // BININT2
                    case (byte)'J': Take(p, 4); Push(Other); break; // BININT
                    case (byte)'G': Take(p, 8); Push(Other); break; // BINFLOAT
                    case (byte)'I' or (byte)'L' or (byte)'F': Line(p); Push(Other); break; // INT, LONG, FLOAT
                    case 0x8a: Take(p, Length(p, 1)); Push(Other); break; // LONG1
                    case 0x8b: Take(p, Length(p, 4)); Push(Other); break; // LONG4
                    // Protocol 0/1 strings unpickle as bytes or need quoting rules; treated as not-a-name.
                    case (byte)'S': Line(p); Push(Other); break;
                    case (byte)'T': Take(p, Length(p, 4)); Push(Other); break; // BINSTRING
                    case (byte)'U': Take(p, Length(p, 1)); Push(Other); break; // SHORT_BINSTRING
                    case (byte)'B': Take(p, Length(p, 4)); Push(Other); break; // BINBYTES
                    case (byte)'C': Take(p, Length(p, 1)); Push(Other); break; // SHORT_BINBYTES
                    case 0x8e or 0x96: Take(p, Length(p, 8)); Push(Other); break; // BINBYTES8, BYTEARRAY8

                    // Strings (possible module/name operands of STACK_GLOBAL).
                    case (byte)'X': Push(Utf8(Take(p, Length(p, 4)))); break; // BINUNICODE
                    case 0x8c: Push(Utf8(Take(p, Length(p, 1)))); break; // SHORT_BINUNICODE
                    case 0x8d: Push(Utf8(Take(p, Length(p, 8)))); break; // BINUNICODE8
                    case (byte)'V': // UNICODE (raw-unicode-escape): only escape-free text is taken as a name
                    {
                        var text = Encoding.Latin1.GetString(Line(p));
                        Push(text.Contains('\\') ? Other : text);
                        break;
                    }

                    // Stack and memo.
                    case (byte)'(': Push(Mark); break; // MARK
                    case (byte)'0': if (_stack.Count == 0) throw Malformed($"pops an empty stack at byte {at}"); _stack.RemoveAt(_stack.Count - 1); break; // POP (may drop a MARK, as Python's does)
                    case (byte)'1': PopToMark(); break; // POP_MARK
                    case (byte)'2': Push(Peek()); break; // DUP
                    case (byte)'p': Remember(long.TryParse(Encoding.ASCII.GetString(Line(p)), out var k) ? k : throw Malformed($"has a bad PUT at byte {at}")); break;
                    case (byte)'q': Remember(Take(p, 1)[0]); break; // BINPUT
                    case (byte)'r': Remember(BinaryPrimitives.ReadUInt32LittleEndian(Take(p, 4))); break; // LONG_BINPUT
                    case 0x94: Remember(_memo.Count); break; // MEMOIZE
                    case (byte)'g': Recall(long.TryParse(Encoding.ASCII.GetString(Line(p)), out var g) ? g : throw Malformed($"has a bad GET at byte {at}"), at); break;
                    case (byte)'h': Recall(Take(p, 1)[0], at); break; // BINGET
                    case (byte)'j': Recall(BinaryPrimitives.ReadUInt32LittleEndian(Take(p, 4)), at); break; // LONG_BINGET

                    // Containers.
                    case (byte)'t' or (byte)'l' or (byte)'d' or 0x91: PopToMark(); Push(Other); break; // TUPLE, LIST, DICT, FROZENSET
                    case 0x85: Pop(); Push(Other); break; // TUPLE1
                    case 0x86: Pop(); Pop(); Push(Other); break; // TUPLE2
                    case 0x87: Pop(); Pop(); Pop(); Push(Other); break; // TUPLE3
                    case (byte)'a': Pop(); break; // APPEND
                    case (byte)'s': Pop(); Pop(); break; // SETITEM
                    case (byte)'e' or (byte)'u' or 0x90: PopToMark(); break; // APPENDS, SETITEMS, ADDITEMS

                    // Fetching callables: the only way code gets in.
                    case (byte)'c': // GLOBAL module\nname\n
                    {
                        var module = Utf8(Line(p));
                        var name = Utf8(Line(p));
                        Allow(module, name);
                        Push(Other);
                        break;
                    }
                    case 0x93: // STACK_GLOBAL
                    {
                        var name = Pop();
                        var module = Pop();
                        if (module is not string m || name is not string n)
                            throw Refused($"has a STACK_GLOBAL at byte {at} whose module and name are not plain strings");
                        Allow(m, n);
                        Push(Other);
                        break;
                    }
                    case (byte)'i': // INST module\nname\n: fetches and calls in one opcode
                    {
                        var module = Utf8(Line(p));
                        var name = Utf8(Line(p));
                        Allow(module, name);
                        PopToMark();
                        Push(Other);
                        break;
                    }
                    case 0x82 or 0x83 or 0x84:
                        throw Refused($"uses the extension registry (EXT opcode at byte {at}), which can name any Python callable");
                    case (byte)'P':
                        throw Refused($"uses a text persistent id (PERSID at byte {at}), which torch.save never writes");
                    case 0x97 or 0x98:
                        throw Refused($"uses out-of-band buffers (opcode 0x{op:x2} at byte {at}), which a file cannot carry");

                    // Calls: safe because every callable came through Allow.
                    case (byte)'Q': Pop(); Push(Other); break; // BINPERSID: torch's storage reference
                    case (byte)'R': Pop(); Pop(); Push(Other); break; // REDUCE
                    case (byte)'b': Pop(); break; // BUILD
                    case 0x81: Pop(); Pop(); Push(Other); break; // NEWOBJ
                    case 0x92: Pop(); Pop(); Pop(); Push(Other); break; // NEWOBJ_EX
                    case (byte)'o': PopToMark(); Push(Other); break; // OBJ

                    default:
                        throw Malformed($"has an unknown opcode 0x{op:x2} at byte {at}");
                }
            }
        }

        void Allow(string module, string name)
        {
            if (!AllowedGlobals.Contains((module, name)))
                throw Refused($"names the Python global {module}.{name}, which a state dict of tensors never needs; loading it could run code");
        }

        UnsafePickleException Refused(string what) =>
            new($"Refused {source}: its pickle {what}. Only tensors and plain containers are loaded; re-save the weights with torch.save(model.state_dict(), path) or as .safetensors.");

        UnsafePickleException Malformed(string what) =>
            new($"Refused {source}: its pickle {what}, so it cannot be checked. Re-save the weights with torch.save(model.state_dict(), path) or as .safetensors.");

        void Push(object item) => _stack.Add(item);

        // Python keeps marks on a separate stack, so an item read where a MARK is on top does not exist there.
        object Peek() => _stack.Count > 0 && _stack[^1] != Mark ? _stack[^1] : throw Malformed($"reads an empty stack near byte {_pos - 1}");

        object Pop()
        {
            var top = Peek();
            _stack.RemoveAt(_stack.Count - 1);
            return top;
        }

        void PopToMark()
        {
            int mark = _stack.LastIndexOf(Mark);
            if (mark < 0) throw Malformed($"pops to a missing MARK at byte {_pos - 1}");
            _stack.RemoveRange(mark, _stack.Count - mark);
        }

        void Remember(long index) => _memo[index] = Peek();

        void Recall(long index, int at) => Push(_memo.TryGetValue(index, out var v) ? v : throw Malformed($"reads memo slot {index}, never written, at byte {at}"));

        ReadOnlySpan<byte> Take(ReadOnlySpan<byte> p, long count)
        {
            if (count < 0 || count > p.Length - _pos) throw Malformed("is cut short");
            var slice = p.Slice(_pos, (int)count);
            _pos += (int)count;
            return slice;
        }

        long Length(ReadOnlySpan<byte> p, int width)
        {
            var b = Take(p, width);
            return width switch
            {
                1 => b[0],
                4 => BinaryPrimitives.ReadInt32LittleEndian(b),
                _ => (long)Math.Min(BinaryPrimitives.ReadUInt64LittleEndian(b), int.MaxValue),
            };
        }

        ReadOnlySpan<byte> Line(ReadOnlySpan<byte> p)
        {
            int end = p[_pos..].IndexOf((byte)'\n');
            if (end < 0) throw Malformed("is cut short");
            var line = p.Slice(_pos, end);
            _pos += end + 1;
            return line;
        }

        static string Utf8(ReadOnlySpan<byte> bytes) => Encoding.UTF8.GetString(bytes);
    }
}
