#!/usr/bin/python3
"""PyTorch's side of `finetune bench --data_dir`: training and evaluation steps with data loading in the loop.

torchvision's ImageFolder, restricted to the images listed in --list (paths relative to --data_dir), served by
torch.utils.data.DataLoader worker processes (persistent, drop_last) with the seed's transforms. Each timed step
takes the next batch (the wait for it counts) and runs the model step of bench_models.py. Prints one JSON line
in bench_models.py's format. --precision bf16 runs forward and loss under torch.autocast('cpu', dtype=torch.bfloat16).

CPU seconds per step are this process's plus its loader workers' (from /proc), so that they compare with ours,
whose loader threads run inside the process; where the workers cannot be read, cpu_s is left out.
peak_rss_bytes is the main process's: the workers are forked from it and share most of its pages, so their
peaks (workers_peak_rss_bytes, summed) are reported apart.
Run with Debian's /usr/bin/python3 (python3-torch 1.13, python3-torchvision 0.14).
"""
import argparse
import json
import os
import statistics
import sys
import time

from bench_models import autocast, import_torch, measure, peak_rss_bytes

IMAGENET_MEAN, IMAGENET_STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data_dir", required=True)
    p.add_argument("--list", required=True, help="file with one image path (relative to --data_dir) per line")
    p.add_argument("--model", default="resnet18")
    p.add_argument("--mode", choices=["train", "eval"], default="train")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--threads", type=int, default=0, help="intra-op threads; 0 leaves PyTorch's default")
    p.add_argument("--interop-threads", type=int, default=0, help="inter-op threads; 0 leaves PyTorch's default")
    p.add_argument("--channels-last", action="store_true", help="model and input in channels-last memory format")
    p.add_argument("--eval-grad-mode", choices=["no_grad", "inference_mode"], default="no_grad")
    p.add_argument("--precision", choices=["fp32", "bf16"], default="fp32",
                   help="bf16: forward and loss under torch.autocast('cpu', dtype=torch.bfloat16)")
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args()


def proc_stat(pid):
    """(utime + stime in seconds, ppid) of a process, from /proc/PID/stat; None when it cannot be read."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"), int(fields[1])


def child_pids():
    pids = []
    for name in os.listdir("/proc"):
        if name.isdigit() and (stat := proc_stat(name)) is not None and stat[1] == os.getpid():
            pids.append(int(name))
    return pids


def vm_hwm(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def dataset(torch, torchvision, a):
    from torchvision import datasets, transforms

    class Folder(datasets.ImageFolder):
        """ImageFolder without Caltech-101's clutter class or hidden folders, as our scan and the seed do."""

        def find_classes(self, directory):
            classes = sorted(e.name for e in os.scandir(directory)
                             if e.is_dir() and e.name != "BACKGROUND_Google" and not e.name.startswith("."))
            return classes, {c: i for i, c in enumerate(classes)}

    if a.mode == "train":
        steps = [transforms.RandomResizedCrop(a.size, scale=(0.8, 1.0), ratio=(0.8, 1.2)),
                 transforms.RandomHorizontalFlip(), transforms.RandomRotation(15)]
    else:
        steps = [transforms.Resize((a.size, a.size))]
    transform = transforms.Compose(steps + [transforms.ToTensor(), transforms.Normalize(IMAGENET_MEAN, IMAGENET_STD)])
    # ImageFolder only accepts known extensions; our side recognises images by content, so take every listed file.
    wanted = set(line.strip() for line in open(a.list, encoding="utf-8") if line.strip())
    folder = Folder(a.data_dir, transform=transform, is_valid_file=lambda path: True)
    root = os.path.abspath(a.data_dir)
    picked = [i for i, (path, _) in enumerate(folder.samples) if os.path.relpath(path, root).replace(os.sep, "/") in wanted]
    if len(picked) != len(wanted):
        raise SystemExit(f"bench_e2e.py: found {len(picked)} of the {len(wanted)} listed images under {a.data_dir}.")
    return torch.utils.data.Subset(folder, picked), len(folder.classes)


def bench(torch, torchvision, a):
    torch.manual_seed(a.seed)
    data, classes = dataset(torch, torchvision, a)
    loader = torch.utils.data.DataLoader(data, batch_size=a.batch, shuffle=a.mode == "train", num_workers=a.workers,
                                         persistent_workers=True, drop_last=True)
    model = getattr(torchvision.models, a.model)(num_classes=classes)
    if a.channels_last:
        model = model.to(memory_format=torch.channels_last)

    first = iter(loader)  # starts the workers, which persist from epoch to epoch
    workers = child_pids()

    def batches():
        it = first
        while True:
            yield from it
            it = iter(loader)

    stream = batches()

    def next_input():
        x, y = next(stream)
        return (x.contiguous(memory_format=torch.channels_last) if a.channels_last else x), y

    if a.mode == "train":
        model.train()
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
        loss_fn = torch.nn.CrossEntropyLoss()

        def step():
            x, y = next_input()
            opt.zero_grad(set_to_none=False)
            with autocast(torch, a.precision):
                loss = loss_fn(model(x), y)
            loss.backward()
            opt.step()
    else:
        model.eval()
        guard = torch.inference_mode if a.eval_grad_mode == "inference_mode" else torch.no_grad

        def step():
            x, _ = next_input()
            with guard(), autocast(torch, a.precision):
                model(x)

    workers_readable = len(workers) == a.workers

    def cpu_now():
        stats = [proc_stat(pid) for pid in workers] if workers_readable else []
        return time.process_time() + sum(s[0] for s in stats if s is not None)

    times, cpu = measure(step, a.warmup, a.steps, cpu_now)
    median = statistics.median(times)
    result = {
        "model": a.model,
        "mode": a.mode,
        "images_per_s": a.batch / median,
        "median_step_s": median,
        "step_s": times,
        "cpu_includes_workers": workers_readable,
        "peak_rss_bytes": peak_rss_bytes(),
        "workers_peak_rss_bytes": sum(vm_hwm(pid) for pid in workers),
        "workers": a.workers,
        "images": len(data),
        "classes": classes,
        "threads": torch.get_num_threads(),
        "interop_threads": torch.get_num_interop_threads(),
        "channels_last": a.channels_last,
        "precision": a.precision,
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
    }
    if workers_readable:
        result["cpu_s"] = cpu
    return result


def main():
    a = parse_args()
    libraries = import_torch("bench_e2e.py", a)
    if libraries is None:
        return 3
    torch, torchvision = libraries
    print(json.dumps(bench(torch, torchvision, a)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
