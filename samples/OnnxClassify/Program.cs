// Classifies images with a model exported by `finetune export --format onnx`:
//   dotnet run --project samples/OnnxClassify -- model.onnx photo.jpg [more.jpg ...]
// Prints each image's top five as "class<TAB>probability"; with several images each line starts with "path<TAB>".
// The graph holds the model's own preprocessing (channel order, mean image or mean/std), so all an application
// does is resize the image as the file's metadata says and pass RGB values in 0..1, NCHW.
using System.Text.Json;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using SkiaSharp;

if (args.Length < 2)
{
    Console.Error.WriteLine("usage: OnnxClassify MODEL.onnx IMAGE [IMAGE ...]");
    return 2;
}

using var session = new InferenceSession(args[0]);
var metadata = session.ModelMetadata.CustomMetadataMap;
var classNames = JsonSerializer.Deserialize<string[]>(metadata["class_names"])!;
int size = int.Parse(metadata["input_size"]);
double cropFraction = double.Parse(metadata["crop_fraction"], System.Globalization.CultureInfo.InvariantCulture);

foreach (var path in args[1..])
{
    using var image = SKBitmap.Decode(path) ?? throw new InvalidDataException($"{path} is not an image SkiaSharp can decode");
    // "stretch": the whole image to size x size; "center_crop": the centre square (crop_fraction of the shorter side).
    var crop = SKRectI.Create(0, 0, image.Width, image.Height);
    if (metadata["resize"] == "center_crop")
    {
        int side = (int)Math.Round(Math.Min(image.Width, image.Height) * cropFraction);
        crop = SKRectI.Create((image.Width - side) / 2, (image.Height - side) / 2, side, side);
    }
    using var square = new SKBitmap(new SKImageInfo(size, size, SKColorType.Rgba8888, SKAlphaType.Unpremul));
    using (var canvas = new SKCanvas(square))
    using (var source = SKImage.FromBitmap(image))
    {
        // Mipmaps average when shrinking (close to PIL's antialiased resize); an image already at size x size is copied as is.
        canvas.DrawImage(source, crop, SKRect.Create(size, size), new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear), null);
    }

    var input = new DenseTensor<float>([1, 3, size, size]);
    for (int y = 0; y < size; y++)
        for (int x = 0; x < size; x++)
        {
            var pixel = square.GetPixel(x, y);
            input[0, 0, y, x] = pixel.Red / 255f;
            input[0, 1, y, x] = pixel.Green / 255f;
            input[0, 2, y, x] = pixel.Blue / 255f;
        }

    using var results = session.Run([NamedOnnxValue.CreateFromTensor(session.InputMetadata.Keys.Single(), input)]);
    var probabilities = results.Single(r => r.Name == "probabilities").AsEnumerable<float>().ToArray();
    foreach (var i in Enumerable.Range(0, classNames.Length).OrderByDescending(i => probabilities[i]).Take(5))
        Console.WriteLine($"{(args.Length > 2 ? path + "\t" : "")}{classNames[i]}\t{probabilities[i]:0.000000}");
}
return 0;
