using FineTune.Weights;
using Xunit;

namespace FineTune.Tests.Weights;

/// <summary>
/// Whole .pth files whose pickle would run code: refused before any unpickler sees them. (The loader never calls
/// Python, so a "nothing ran" marker file could not appear either way; the refusal is what these tests check.)
/// </summary>
public class MaliciousFileTests
{
    [Fact]
    public void A_crafted_pth_with_os_system_is_refused_naming_the_global_and_the_file()
    {
        using var temp = new TempFolder();
        const string command = "touch /tmp/finetune-pwned";
        var pickle = System.Text.Encoding.Latin1.GetBytes(
            $"\u0080\u0002cposix\nsystem\nq\u0000X{(char)command.Length}\u0000\u0000\u0000{command}q\u0001\u0085q\u0002Rq\u0003.");
        var path = temp.File("evil.pth");
        TestFiles.SaveZipWithPickle(path, pickle);

        var e = Assert.Throws<UnsafePickleException>(() => TorchvisionWeights.FromFile(path, "resnet18"));
        Assert.Contains("posix.system", e.Message);
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void A_second_pickle_hidden_beside_data_pkl_is_checked_too()
    {
        // PyBridge loads the first entry whose name ends in data.pkl; a decoy must not get past the check.
        using var temp = new TempFolder();
        var path = temp.File("decoy.pth");
        using (var zip = System.IO.Compression.ZipFile.Open(path, System.IO.Compression.ZipArchiveMode.Create))
        {
            using (var s = zip.CreateEntry("archive/xdata.pkl").Open()) s.Write(System.Text.Encoding.Latin1.GetBytes("\u0080\u0002cbuiltins\neval\nq\u0000."));
            using (var s = zip.CreateEntry("archive/data.pkl").Open()) s.Write(System.Text.Encoding.Latin1.GetBytes("\u0080\u0002}q\u0000."));
        }
        Assert.Contains("builtins.eval", Assert.Throws<UnsafePickleException>(() => StateDictFile.Read(path)).Message);
    }

    [PyTorchTheory]
    [InlineData(2)]
    [InlineData(4)]
    [InlineData(5)]
    public void A_torch_save_of_an_object_with_reduce_is_refused_and_nothing_runs(int protocol)
    {
        using var temp = new TempFolder();
        var path = temp.File("evil.pth");
        PyTorchReference.RunScript($$"""
            import os, torch
            class Evil:
                def __reduce__(self):
                    return (os.system, ("true",))
            state = {"conv1.weight": torch.zeros(64, 3, 7, 7), "payload": Evil()}
            torch.save(state, "{{path}}", pickle_protocol={{protocol}})
            """, TimeSpan.FromMinutes(2));

        var e = Assert.Throws<UnsafePickleException>(() => TorchvisionWeights.FromFile(path, "resnet18"));
        Assert.Contains("posix.system", e.Message);
        Assert.Contains(path, e.Message);
    }
}
