using Xunit;

namespace FineTune.Tests.Support;

/// <summary>Scratch folders go with the test that made them; a cache's folder stays for the run.</summary>
public class TestScopeTests
{
    static readonly Lazy<string> Cached = new(() => TestRunFolder.New("scope-cache"));
    static string? _earlierCase;

    // Cases of one theory run one after the other, in an order xunit picks: whichever runs second finds the first's
    // folder gone (the assembly-wide After hook ran between them) and the Lazy's folder still there.
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public async Task A_folder_made_by_a_test_is_gone_when_the_next_test_starts(int _)
    {
        var cached = Cached.Value;
        if (_earlierCase is { } earlier)
        {
            Assert.False(Directory.Exists(earlier), $"{earlier} outlived the test that made it");
            Assert.True(Directory.Exists(cached), "a folder made inside a Lazy is kept for the run");
            return;
        }
        await Task.Yield(); // made after an await: the test's state machine still owns it
        _earlierCase = TestRunFolder.New("scope");
        Assert.True(Directory.Exists(_earlierCase));
    }
}
