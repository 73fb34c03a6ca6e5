using System.Text;
using FineTune.Weights;
using Xunit;

namespace FineTune.Tests.Weights;

/// <summary>Hand-assembled pickles: what a state dict needs passes; anything that reaches another Python callable is refused.</summary>
public class PickleGuardTests
{
    static byte[] Bytes(string latin1) => Encoding.Latin1.GetBytes(latin1);

    static UnsafePickleException Refused(string pickle) =>
        Assert.Throws<UnsafePickleException>(() => PickleGuard.Check(Bytes(pickle), "evil.pth"));

    [Fact]
    public void An_ordered_dict_by_GLOBAL_passes() =>
        PickleGuard.Check(Bytes("\u0080\u0002ccollections\nOrderedDict\nq\u0000)Rq\u0001."), "ok.pth");

    [Fact]
    public void An_ordered_dict_by_STACK_GLOBAL_passes() =>
        PickleGuard.Check(Bytes("\u0080\u0004\u008c\u000bcollections\u0094\u008c\u000bOrderedDict\u0094\u0093\u0094)R\u0094."), "ok.pth");

    [Fact]
    public void GLOBAL_posix_system_is_refused_naming_the_global_and_the_file()
    {
        var e = Refused("\u0080\u0002cposix\nsystem\nq\u0000X\u0004\u0000\u0000\u0000trueq\u0001\u0085q\u0002Rq\u0003.");
        Assert.Contains("posix.system", e.Message);
        Assert.Contains("evil.pth", e.Message);
    }

    [Fact]
    public void STACK_GLOBAL_builtins_eval_is_refused() =>
        Assert.Contains("builtins.eval", Refused("\u0080\u0004\u008c\u0008builtins\u0094\u008c\u0004eval\u0094\u0093\u0094\u008c\u00031+1\u0094\u0085\u0094R\u0094.").Message);

    [Fact]
    public void STACK_GLOBAL_with_names_fetched_from_the_memo_is_refused() =>
        // "os" and "system" are memoised, popped, and fetched back before STACK_GLOBAL.
        Assert.Contains("os.system", Refused("\u0080\u0004\u008c\u0002os\u0094\u008c\u0006system\u0094" + "00" + "h\u0000h\u0001\u0093\u008c\u0004true\u0085R.").Message);

    [Fact]
    public void STACK_GLOBAL_with_operands_that_are_not_strings_is_refused() =>
        Assert.Contains("STACK_GLOBAL", Refused("\u0080\u0004K\u0001K\u0002\u0093.").Message);

    [Fact]
    public void INST_is_checked_like_GLOBAL() =>
        Assert.Contains("os.system", Refused("(S'true'\nios\nsystem\n.").Message);

    [Fact]
    public void The_extension_registry_is_refused() =>
        Assert.Contains("extension registry", Refused("\u0080\u0002\u0082\u0001)R.").Message);

    [Fact]
    public void A_cut_short_pickle_is_refused() =>
        Assert.Contains("cut short", Refused("\u0080\u0002ccollections\nOrd").Message);

    [Fact]
    public void An_unknown_opcode_is_refused() =>
        Assert.Contains("0xff", Refused("\u0080\u0002\u00ff.").Message);
}
