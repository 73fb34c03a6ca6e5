using System.Text;

namespace FineTune.Training.TensorBoard;

/// <summary>
/// Writes TensorBoard event files (events.out.tfevents.*) without TensorFlow: scalars, text and the hparams
/// plugin's summaries, each an Event protobuf in a TFRecord frame. `tensorboard --logdir` reads the folder.
/// </summary>
public sealed class EventWriter : IDisposable
{
    // Field numbers of tensorflow/core/util/event.proto and framework/summary.proto.
    const int EventWallTime = 1, EventStep = 2, EventFileVersion = 3, EventSummary = 5;
    const int SummaryValue = 1, ValueTag = 1, ValueSimple = 2, ValueTensor = 8, ValueMetadata = 9;
    const int MetadataPluginData = 1, MetadataDataClass = 4, PluginName = 1, PluginContent = 2;
    const int DataClassTensor = 2, DtString = 7;

    readonly FileStream _stream;
    public string FilePath { get; }

    public EventWriter(string logDir)
    {
        Directory.CreateDirectory(logDir);
        var stamp = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        // The name must contain "tfevents"; host and pid keep concurrent writers (resume, MPI ranks) apart.
        FilePath = Path.Combine(logDir, $"events.out.tfevents.{stamp}.{Environment.MachineName}.{Environment.ProcessId}.{Guid.NewGuid().ToString("N")[..8]}");
        _stream = new FileStream(FilePath, FileMode.CreateNew, FileAccess.Write, FileShare.Read);
        WriteEvent(new ProtoMessage().Double(EventWallTime, Now()).String(EventFileVersion, "brain.Event:2"));
        Flush();
    }

    static double Now() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0;

    void WriteEvent(ProtoMessage ev) => TfRecord.Write(_stream, ev.ToArray());

    void WriteValue(long step, ProtoMessage value) =>
        WriteEvent(new ProtoMessage().Double(EventWallTime, Now()).Int64(EventStep, step)
            .Message(EventSummary, new ProtoMessage().Message(SummaryValue, value)));

    public void AddScalar(string tag, double value, long step) =>
        WriteValue(step, new ProtoMessage().String(ValueTag, tag).Float(ValueSimple, (float)value));

    /// <summary>A text summary (Markdown), shown in TensorBoard's Text tab.</summary>
    public void AddText(string tag, string markdown, long step)
    {
        var tensor = new ProtoMessage().Int32(1, DtString)
            .Message(2, new ProtoMessage().Message(2, new ProtoMessage().Int64(1, 1)))
            .Bytes(8, Encoding.UTF8.GetBytes(markdown));
        WriteValue(step, new ProtoMessage().String(ValueTag, tag)
            .Message(ValueMetadata, Metadata("text", []))
            .Message(ValueTensor, tensor));
    }

    /// <summary>
    /// The hparams plugin's three summaries (experiment, session start, session end), as PyTorch's
    /// SummaryWriter.add_hparams writes them; the metrics are logged as scalars under their own tags.
    /// </summary>
    public void AddHParams(IReadOnlyDictionary<string, object> hparams, IReadOnlyDictionary<string, double> metrics)
    {
        // tensorboard/plugins/hparams/api.proto and plugin_data.proto.
        var experiment = new ProtoMessage();
        foreach (var (name, value) in hparams)
            experiment.Message(4, new ProtoMessage().String(1, name).Int32(4, value switch { string => 1, bool => 2, _ => 3 }));
        foreach (var name in metrics.Keys)
            experiment.Message(5, new ProtoMessage().Message(1, new ProtoMessage().String(2, name)));
        WriteHParams("_hparams_/experiment", new ProtoMessage().Int32(1, 0).Message(2, experiment));

        var start = new ProtoMessage();
        foreach (var (name, value) in hparams)
        {
            var v = value switch
            {
                string s => new ProtoMessage().String(3, s),
                bool b => new ProtoMessage().Int32(4, b ? 1 : 0),
                _ => new ProtoMessage().Double(2, Convert.ToDouble(value, System.Globalization.CultureInfo.InvariantCulture)),
            };
            start.Message(1, new ProtoMessage().String(1, name).Message(2, v));
        }
        start.Double(5, Now());
        WriteHParams("_hparams_/session_start_info", new ProtoMessage().Int32(1, 0).Message(3, start));
        WriteHParams("_hparams_/session_end_info", new ProtoMessage().Int32(1, 0).Message(4, new ProtoMessage().Int32(1, 1).Double(2, Now())));
        foreach (var (name, value) in metrics) AddScalar(name, value, 0);
    }

    void WriteHParams(string tag, ProtoMessage content) =>
        WriteValue(0, new ProtoMessage().String(ValueTag, tag).Message(ValueMetadata, Metadata("hparams", content.ToArray())));

    static ProtoMessage Metadata(string plugin, byte[] content) =>
        new ProtoMessage()
            .Message(MetadataPluginData, new ProtoMessage().String(PluginName, plugin).Bytes(PluginContent, content))
            .Int32(MetadataDataClass, DataClassTensor);

    public void Flush() => _stream.Flush();

    public void Dispose()
    {
        _stream.Flush();
        _stream.Dispose();
    }
}
