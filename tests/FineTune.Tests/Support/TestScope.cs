using System.Collections.Concurrent;
using System.Diagnostics;
using System.Reflection;
using System.Runtime.CompilerServices;
using Xunit.Sdk;

[assembly: FineTune.Tests.RemovesTestFolders]

namespace FineTune.Tests;

/// <summary>
/// Which test made a scratch folder, so that it can go when the test ends. The owner is the test method found on the
/// calling stack (an async test's state machine counts as its method). No owner, and the folder is kept for the run:
/// made inside a Lazy's factory or a static initializer (a cache other tests read), in a test class's constructor, or
/// on a thread the test started.
/// </summary>
static class TestScope
{
    // Keyed by handle: the stack's MethodBase and xunit's MethodInfo can be distinct objects for one method.
    static readonly ConcurrentDictionary<RuntimeMethodHandle, ConcurrentBag<string>> Made = new();

    public static void Claim(string folder)
    {
        if (OwningTest() is { } test) Made.GetOrAdd(test.MethodHandle, _ => []).Add(folder);
    }

    /// <summary>Removes what <paramref name="test"/> made. Tests of one class run one after another, so a theory's
    /// next case never shares a folder with the case that ended.</summary>
    public static void Release(MethodInfo test)
    {
        if (Made.TryRemove(test.MethodHandle, out var folders))
            foreach (var folder in folders) TestRunFolder.Remove(folder);
    }

    static MethodBase? OwningTest()
    {
        foreach (var frame in new StackTrace().GetFrames())
        {
            if (frame.GetMethod() is not { } method) continue;
            if (method.IsConstructor || IsLazy(method.DeclaringType)) return null;
            var source = AsyncSource(method) ?? method;
            if (source.IsDefined(typeof(Xunit.FactAttribute), inherit: true)) return source;
        }
        return null;
    }

    static bool IsLazy(Type? type) => type is { IsGenericType: true } && type.GetGenericTypeDefinition() == typeof(Lazy<>);

    /// <summary>After an await the stack starts at the state machine's MoveNext: the method that declared it.</summary>
    static MethodBase? AsyncSource(MethodBase method)
    {
        if (method.Name != "MoveNext" || method.DeclaringType is not { DeclaringType: { } outer } machine) return null;
        const BindingFlags all = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
        return outer.GetMethods(all).FirstOrDefault(m => m.GetCustomAttribute<StateMachineAttribute>()?.StateMachineType == machine);
    }
}

/// <summary>Applied to the whole assembly: after each test, its scratch folders are removed.</summary>
[AttributeUsage(AttributeTargets.Assembly)]
sealed class RemovesTestFoldersAttribute : BeforeAfterTestAttribute
{
    public override void After(MethodInfo methodUnderTest) => TestScope.Release(methodUnderTest);
}
