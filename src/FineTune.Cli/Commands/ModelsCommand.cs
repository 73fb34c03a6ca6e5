using FineTune.Models;
using FineTune.Native;
using FineTune.Weights;

namespace FineTune.Cli.Commands;

/// <summary>`finetune models`: the backbones, and which pretrained weights can be used offline.</summary>
public static class ModelsCommand
{
    public static int Run(CommandLine cl)
    {
        cl.RejectUnknown("models");
        TorchNative.EnsureLoaded();
        Console.WriteLine("Backbones (torchvision layout):");
        foreach (var (name, arch) in ModelFactory.Backbones)
            Console.WriteLine($"  {name,-10} {arch}");
        Console.WriteLine();
        Console.WriteLine($"Pretrained weights (cache: {WeightsCatalog.CacheDir}):");
        foreach (var w in WeightsCatalog.List())
            Console.WriteLine($"  {(w.Available ? "[offline]" : "[missing]"),-9} {w.Name,-34} {w.Backbone,-10} {w.Architecture,-24} {w.Where}");
        Console.WriteLine();
        Console.WriteLine($"Native library: {TorchNative.Status}");
        return 0;
    }
}
