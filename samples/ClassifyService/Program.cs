// ClassifyService: an ASP.NET Core minimal API around a model exported with `finetune export --format onnx`.
//   dotnet ClassifyService.dll --model model.onnx --urls http://127.0.0.1:5000
//   POST /classify[?top=k]  an image (multipart field "image", or the raw body) -> {"model", "top": [{"class", "probability"}], "milliseconds"}
//   GET  /                  a one-page upload form
// The model is loaded once, before the port opens, and shared by every request (see ImageModel.cs for why that is safe).
using ClassifyService;

var builder = WebApplication.CreateBuilder(args);
var (settings, problem) = ServiceSettings.From(builder.Configuration);
if (settings is null)
{
    Console.Error.WriteLine($"ClassifyService: {problem}");
    return 2;
}

ImageModel model;
try { model = ImageModel.Load(settings.ModelPath); }
catch (ModelLoadException e)
{
    Console.Error.WriteLine($"ClassifyService: {e.Message}");
    return 2;
}

Upload.ConfigureLimits(builder, settings.MaxUploadBytes);
builder.Services.AddSingleton(settings);
builder.Services.AddSingleton(model);
var app = builder.Build();
app.Lifetime.ApplicationStopped.Register(model.Dispose); // an instance handed to the container is not disposed by it
app.Logger.LogInformation("Model {Model}: {Classes} classes, {Size}x{Size} input; uploads up to {Limit:N0} bytes",
    settings.ModelPath, model.ClassNames.Count, model.InputSize, model.InputSize, settings.MaxUploadBytes);

app.MapGet("/", UploadPage.Serve);
app.MapPost("/classify", ClassifyEndpoint.HandleAsync);
app.Run();
return 0;
