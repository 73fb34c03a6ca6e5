using FineTune.Kernels;

namespace FineTune.Cli.Parsing;

/// <summary>
/// Every command's options, one line each, and an example: what `finetune COMMAND --help` prints and what
/// <see cref="CommandLine"/> accepts. A command reading an option not declared here throws, so an option
/// added to a command without a line here fails the tests that run it.
/// </summary>
public static class CommandCatalog
{
    static OptionSpec Value(string name, string value, string description) => new(name, value, description);
    static OptionSpec Required(string name, string value, string description) => new(name, value, description, Required: true);
    static OptionSpec Flag(string name, string description) => new(name, null, description);

    static readonly OptionSpec Precision = Value("precision", "fp32|bf16|auto", "compute precision; overrides the config's training.precision (or the checkpoint's)");
    static readonly OptionSpec Gpu = Value("gpu", "IDS", "CUDA device(s) such as 0 or 0,1 (CUDA build only); the CPU without it");
    static readonly OptionSpec Seed = Value("seed", "N", "another split seed: sets data.seed and names the experiment <name>_seed<N>; compare shows mean and spread over seeds");
    static readonly OptionSpec ExperimentName = Value("experiment_name", "N", "overrides the config's experiment.name (folder of checkpoints, logs, reports)");

    public static readonly CommandSpec Quickstart = new("quickstart",
        "the main job: fine-tune vs scratch on a small image set, tested, with the seed's table",
        [
            Value("data_dir", "D", "image folders to use (default: ten Caltech-101 classes if data/caltech-101 is there, else synthetic images)"),
            Value("out", "D", "where configs, checkpoints, reports and the table go (default outputs/quickstart)"),
            Value("epochs", "N", "epochs for each of the two runs (default 4)"),
        ],
        ["finetune quickstart --epochs 2"]);

    public static readonly CommandSpec Models = new("models",
        "list backbones and the pretrained weights available offline", [], ["finetune models"]);

    public static readonly CommandSpec Train = new("train",
        "train a model from a YAML config (the seed's train.py), or from a folder of photos in one command",
        [
            Value("config", "F", "the YAML config to train with (or --data_dir instead)"),
            Value("data_dir", "D", "a folder of photos, one subfolder per class: plan, train, test, report and export to ONNX within --time_budget"),
            Value("time_budget", "T", "with --data_dir: time from start to model.onnx, e.g. 10m (default), 90s, 1h30m"),
            Value("backbone", "B", "with --data_dir: resnet18 (default), resnet34, resnet50 or resnet101"),
            Value("epochs", "N", "with --data_dir: fine-tuning epochs instead of the planner's choice (0: a linear probe alone)"),
            Value("image_size", "PX", "with --data_dir: evaluation and probe size instead of the planner's (training crops are 0.9 of it)"),
            Value("weights", "W", "with --data_dir: pretrained weights (auto, bundled, torchvision, or a file)"),
            ExperimentName,
            Seed,
            Gpu,
            Flag("distributed", "data-parallel over the ranks of mpirun (see README: data-parallel training)"),
            Value("local_rank", "R", "accepted for the seed's launch scripts and ignored: MPI assigns ranks"),
            Value("resume", "P", "continue from this checkpoint (weights, optimizer, epoch)"),
            Flag("dry-run", "print the resolved config and the folders it would use, and train nothing"),
            Precision,
        ],
        ["finetune train --data_dir ~/Pictures/birds", "finetune train --data_dir ~/Pictures/birds --time_budget 30m --backbone resnet50", "finetune train --config configs/resnet18_finetune.yaml", "finetune train --config configs/resnet18_finetune.yaml --dry-run", "finetune train --config configs/resnet18_fast_cpu.yaml --seed 43"]);

    public static readonly CommandSpec Test = new("test",
        "evaluate a checkpoint on its experiment's test split and write the report (the seed's test.py)",
        [
            Required("config", "F", "the YAML config the model was trained with"),
            Required("model_path", "P", "the checkpoint to test"),
            ExperimentName,
            Seed,
            Gpu,
            Value("output_dir", "D", "where the report folder goes (default outputs/test_reports)"),
            Precision,
        ],
        ["finetune test --config configs/resnet18_finetune.yaml --model_path outputs/checkpoints/resnet18_finetune/checkpoint_best.ckpt"]);

    public static readonly CommandSpec Predict = new("predict",
        "classify images with a checkpoint or an exported .onnx",
        [
            Required("model_path", "P", "a checkpoint (.ckpt) or an ONNX file written by `finetune export --format onnx`"),
            Value("topk", "K", "classes shown per image (default 5)"),
            Flag("json", "print JSON instead of text"),
            Value("out", "F.csv", "write every image's top-k classes to this CSV (path,top1,p1,...,error; paths relative to the one folder given) instead of printing them"),
            Value("report", "F.html", "write a self-contained HTML gallery, least confident first (at most 500 cards), with a confidence histogram and the unreadable files"),
            Gpu,
            Value("batch_size", "N", "images per forward pass (default 16)"),
            Precision,
        ],
        ["finetune predict --model_path outputs/checkpoints/resnet18_finetune/checkpoint_best.ckpt photo.jpg --topk 3",
         "finetune predict --model_path model.onnx photos/ --out predictions.csv --report predictions.html"])
    { Positionals = "IMAGE|FOLDER..." };

    public static readonly CommandSpec Compare = new("compare",
        "results table, validation curves and compare.html (the runs side by side) of finished runs",
        [
            Value("outputs", "D", "the outputs folder holding checkpoints/*/results.json (default outputs)"),
            Value("out", "D", "where the table, the curves and compare.html go (default OUTPUTS/compare)"),
            Value("configs", "a.yaml,b.yaml", "compare these experiments (default: every results.json under --outputs)"),
            Flag("run", "train and test each of --configs first, in this process"),
        ],
        ["finetune compare", "finetune compare --configs configs/resnet18_finetune.yaml,configs/resnet18_scratch.yaml --run"]);

    public static readonly CommandSpec Export = new("export",
        "write a checkpoint's model for other runtimes (PyTorch state dict or ONNX)",
        [
            Required("model_path", "P", "the checkpoint to export"),
            Value("format", "pth|onnx", "pth: state dict + JSON manifest for PyTorch; onnx: one graph with the preprocessing inside (default pth)"),
            Value("output", "F", "the file to write (default: the checkpoint's path with .pth or .onnx)"),
            Flag("force", "overwrite an existing output"),
        ],
        ["finetune export --model_path outputs/checkpoints/resnet18_finetune/checkpoint_best.ckpt --format onnx"]);

    public static readonly CommandSpec DataPrepare = new("data prepare",
        "unpack Caltech-101 (zip or tar.gz) safely into the data folder",
        [
            Value("archive", "PATH", "caltech-101.zip or 101_ObjectCategories.tar.gz (or --download)"),
            Value("out", "DIR", "where to unpack (default data/caltech-101)"),
            Flag("download", "fetch the archive first (resumable; size, and with --sha256 content, checked)"),
            Value("url", "URL", "where --download fetches from (default: the official Caltech-101 address)"),
            Value("sha256", "HEX", "the checksum the downloaded archive must have"),
            Value("size", "BYTES", "the size the downloaded archive must have"),
            Value("max_ratio", "R", "refuse archives declaring more than R times their own size (default 20)"),
            Value("max_entries", "N", "refuse archives with more entries (default 100000)"),
            Flag("ignore_free_space", "unpack even when the disk reports too little free space"),
        ],
        ["finetune data prepare --archive ~/Downloads/caltech-101.zip", "finetune data prepare --download"]);

    public static readonly CommandSpec DataVerify = new("data verify",
        "decode every image of a dataset folder and report per class",
        [
            Required("data_dir", "DIR", "the folder holding one sub-folder per class"),
            Flag("keep_background", "count BACKGROUND_Google as a class (the seed drops it)"),
            Value("max_pixels", "N", "refuse images larger than this before decoding (default 89478485)"),
            Value("manifest", "EXPERIMENT_DIR", "also check the files against this experiment's split manifest"),
        ],
        ["finetune data verify --data_dir data/caltech-101/101_ObjectCategories"]);

    public static readonly CommandSpec DataSynth = new("data synth",
        "write a small synthetic image set (one folder per class)",
        [
            Required("out", "DIR", "the folder to create"),
            Value("classes", "N", "number of classes (default 5)"),
            Value("per-class", "M", "images per class (default 20)"),
            Value("size", "PX", "image side, 16..2048 (default 96)"),
            Value("seed", "S", "random seed (default 42)"),
        ],
        ["finetune data synth --out data/synth --classes 5 --per-class 20"]);

    public static readonly CommandSpec DataBench = new("data bench",
        "images/s of our loader beside torchvision's DataLoader on the same images",
        [
            Required("data_dir", "DIR", "the folder holding one sub-folder per class"),
            Value("workers", "1,2", "loader workers to measure, comma-separated (default 1,2)"),
            Value("images", "N", "images to load per measurement (default 2000)"),
            Value("batch_size", "N", "batch size (default 32)"),
            Value("repeats", "N", "measurements per setting; medians are printed (default 3)"),
            Flag("no_python", "skip the PyTorch side"),
            Value("script", "F", "the torchvision script (default tools/pytorch/bench_data.py)"),
            Value("python", "F", "the Python with torch and torchvision (default /usr/bin/python3)"),
        ],
        ["finetune data bench --data_dir data/caltech-101/101_ObjectCategories --workers 1,2"]);

    public static readonly CommandSpec Data = new("data",
        "prepare | verify | synth | bench: get, check and measure image data", [],
        ["finetune data prepare --download", "finetune data verify --data_dir data/caltech-101/101_ObjectCategories"])
    { Subcommands = [DataPrepare, DataVerify, DataSynth, DataBench] };

    public static readonly CommandSpec Doctor = new("doctor",
        "the kernel check in full: every probe of libtorch's kernels on this CPU and the configuration chosen",
        [
            Value("config", "F", "check the kernels this config's training needs (default: all ResNets at 224 px, batch 8)"),
            Flag("recheck", "run the check again instead of using its cached result, and forget every step-down made after runs that died without a word"),
        ],
        ["finetune doctor", "finetune doctor --config configs/resnet18_finetune.yaml --recheck"]);

    public static readonly CommandSpec Bench = new("bench",
        "images/s of our ResNets (train, eval) beside PyTorch 1.13 doing the same work, as ratios",
        [
            Value("models", "LIST", "backbones to measure (default resnet18,resnet50)"),
            Value("mode", "train,eval", "what to measure (default train,eval)"),
            Value("modes", "train,eval", "the same as --mode"),
            Value("precision", "LIST", "fp32, bf16, auto or a list such as fp32,bf16 (default fp32)"),
            Value("batch", "N", "batch size (default 32)"),
            Value("size", "PX", "image side (default 224)"),
            Value("warmup", "N", "untimed steps per round (default 3)"),
            Value("steps", "N", "timed steps per round (default 10)"),
            Value("rounds", "N", "rounds, ours and PyTorch interleaved; medians pool all steps (default 1)"),
            Value("threads", "N", "compute threads (default 0: one per core)"),
            Value("interop_threads", "N", "libtorch inter-op threads (default 0: the library's own)"),
            Flag("channels-last", "channels-last memory format (the default)"),
            Flag("nchw", "NCHW memory format on our side"),
            Flag("reference-nchw", "NCHW on PyTorch's side too (the seed's layout)"),
            Value("eval-engine", "auto|torch|onnxruntime", "what runs our evaluation rows, as training.eval_engine (default auto: ONNX Runtime over the exported graph for fp32)"),
            Value("eval-grad-mode", "no_grad|inference_mode", "how evaluation turns autograd off (default no_grad)"),
            Flag("huge-pages", "back tensors with transparent huge pages (Linux, glibc)"),
            Flag("default-heap", "glibc's default heap instead of keeping freed memory mapped"),
            Flag("reference-kept-heap", "give PyTorch the same kept heap as ours"),
            Value("data_dir", "D", "end to end: each step takes its batch from a loader over these images"),
            Value("images", "N", "images for the end-to-end loader (default 640)"),
            Value("workers", "N", "loader workers end to end (default 2)"),
            Value("python", "F", "the Python with torch (default /usr/bin/python3)"),
            Flag("no-reference", "measure ours only"),
            Flag("no-onnx", "skip the ONNX Runtime rows"),
        ],
        ["finetune bench --models resnet18 --rounds 2", "finetune bench --data_dir data/caltech-101/101_ObjectCategories --models resnet18 --rounds 3"]);

    // Hidden: test harness and benchmark of data-parallel training over MPI, and the kernel check's child process.
    public static readonly CommandSpec DdpSelfTest = new("ddp-selftest",
        "k SGD steps of a tiny ResNet on synthetic data per rank, state written per rank (test harness)",
        [
            Value("steps", "N", "SGD steps (default 3)"),
            Value("batch", "N", "batch per rank (default 4)"),
            Value("size", "PX", "image side, at least 32 (default 32)"),
            Value("seed", "S", "random seed (default 7)"),
            Value("threads", "N", "threads per rank (default 1)"),
            Flag("sync_bn", "synchronised batch norm across ranks"),
            Flag("fp64", "train in float64 (rounding too small to matter: ranks and one process agree to ~1e-12)"),
            Value("out", "F", "write each rank's final state dict here ({rank} becomes the rank)"),
            Value("kill_rank", "R", "this rank dies ..."),
            Value("kill_step", "N", "... at this step"),
            Value("kill_how", "signal|error", "how it dies (default signal)"),
            Value("stop_rank", "R", "this rank asks to stop ..."),
            Value("stop_step", "N", "... at this step"),
            Value("stop_how", "flag|sigint", "how it asks (default flag)"),
            Value("unfreeze_step", "N", "the stem stays frozen until this step"),
        ],
        ["mpirun -np 2 finetune ddp-selftest --steps 3 --out /tmp/ddp_{rank}.pt"])
    { Hidden = true };

    public static readonly CommandSpec DdpBench = new("ddp-bench",
        "training throughput of data-parallel SGD at a fixed global batch (benchmark)",
        [
            Value("backbone", "NAME", "the model (default resnet18)"),
            Value("size", "PX", "image side (default 224)"),
            Value("global_batch", "N", "batch over all ranks (default 16)"),
            Value("steps", "N", "timed steps (default 5)"),
            Value("warmup", "N", "untimed steps (default 1)"),
            Value("threads", "N", "threads per rank (default 1)"),
        ],
        ["mpirun -np 2 finetune ddp-bench --threads 1"])
    { Hidden = true };

    public static readonly CommandSpec KernelProbe = new(ProbeProcess.Command,
        "the kernel check's child process: runs probes until one kills it",
        [
            Required("probes", "FILE", "the probe list the kernel check wrote"),
            Value("from", "N", "the first probe to run (default 0)"),
            Value("threads", "N", "threads (default: libtorch's choice)"),
        ],
        [$"finetune {ProbeProcess.Command} --probes /tmp/probes.json --from 0"])
    { Hidden = true };

    /// <summary>The top-level commands in the order `finetune help` lists them.</summary>
    public static readonly IReadOnlyList<CommandSpec> Commands =
        [Quickstart, Models, Train, Test, Predict, Compare, Export, Data, Doctor, Bench, DdpSelfTest, DdpBench, KernelProbe];

    /// <summary>A top-level command by name (`train`, `data`), or null.</summary>
    public static CommandSpec? Find(string name) => Commands.FirstOrDefault(c => c.Name == name);

    /// <summary>A command that `finetune` dispatches must have an entry: a missing one is a bug, found at start-up.</summary>
    public static CommandSpec Get(string name) =>
        Find(name) ?? Commands.SelectMany(c => c.Subcommands).FirstOrDefault(c => c.Name == name)
        ?? throw new InvalidOperationException($"`finetune {name}` has no entry in src/FineTune.Cli/Parsing/CommandCatalog.cs.");
}
