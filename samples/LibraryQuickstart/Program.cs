// Fine-tune an ImageNet ResNet-18 on a small folder of images, test it, and classify with it: FineTune as a library.
// Usage: LibraryQuickstart [work folder]. Prints tab-separated lines: outcome, test accuracy, top-3 classes.
using FineTune;
using FineTune.Config;
using FineTune.Data;

// Nothing to set up in Main: the kernel check (libtorch's kernels tried on this CPU before training) runs its probes in
// a probe host that the package copies beside this program (finetune-probe.dll), never in this program.
var work = Path.GetFullPath(args.Length > 0 ? args[0] : "library-quickstart");
var images = Path.Combine(work, "images");
if (!Directory.Exists(images)) SyntheticDataset.Write(images, classes: 3, perClass: 24); // one folder per class

// The config is plain records: start from the defaults and say what differs (as a YAML file would).
var d = FineTuneConfig.Defaults;
var config = d with
{
    Data = d.Data with { DataDir = images, ImageSize = 64, BatchSize = 8, NumWorkers = 2 },
    Model = d.Model with { Backbone = "resnet18", Pretrained = true, NumClasses = 3 },
    Training = d.Training with { NumEpochs = 2, Optimizer = OptimizerKind.AdamW, BaseLr = 1e-4, LinearProbeEpochs = 30 },
    Experiment = d.Experiment with { Name = "shapes", CheckpointDir = Path.Combine(work, "checkpoints"), LogDir = Path.Combine(work, "logs") },
};

// Ctrl-C cancels the token: training finishes its step and writes a resumable checkpoint.
using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.Cancel(); };
var trained = Experiment.Train(config, new TrainOptions(), stop.Token);
Console.WriteLine($"outcome\t{trained.Outcome}\t{trained.BestCheckpoint}");
if (trained.BestCheckpoint is null) return 1;

var tested = Experiment.Test(config, trained.BestCheckpoint, new TestOptions { OutputDir = Path.Combine(work, "reports") });
Console.WriteLine(FormattableString.Invariant($"test_accuracy\t{tested.Report.Summary.Accuracy:R}"));

// A checkpoint carries its classes and preprocessing: no config needed to classify.
using var classifier = Classifier.Load(trained.BestCheckpoint, new ClassifierOptions());
var image = Directory.GetFiles(Path.Combine(images, classifier.ClassNames[1]), "*.png").Order().First();
Console.WriteLine($"image\t{classifier.ClassNames[1]}\t{image}");
foreach (var c in classifier.Predict(image, topK: 3))
    Console.WriteLine(FormattableString.Invariant($"file\t{c.ClassName}\t{c.Probability:R}"));
using var stream = File.OpenRead(image);
foreach (var c in classifier.Predict(stream, topK: 3))
    Console.WriteLine(FormattableString.Invariant($"stream\t{c.ClassName}\t{c.Probability:R}"));
return 0;
