// Classifies images with a model exported by `finetune export --format onnx`, through FineTune.Inference (no libtorch):
//   dotnet run --project samples/InferenceQuickstart -- model.onnx photo.jpg [more.jpg ...]
// Prints "path<TAB>class<TAB>probability" for each image's top three; an image that cannot be read goes to stderr.
using FineTune.Inference;

if (args.Length < 2)
{
    Console.Error.WriteLine("usage: InferenceQuickstart MODEL.onnx IMAGE [IMAGE ...]");
    return 2;
}
using var classifier = ImageClassifier.Load(args[0]);
int failed = 0;
foreach (var image in classifier.Predict(args[1..], topK: 3))
{
    if (image.Error is { } error) { Console.Error.WriteLine($"{image.Path}: {error}"); failed++; }
    foreach (var p in image.TopK) Console.WriteLine($"{image.Path}\t{p.ClassName}\t{p.Probability:0.000000}");
}
return failed == 0 ? 0 : 1;
