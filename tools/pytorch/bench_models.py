#!/usr/bin/python3
"""PyTorch's side of `finetune bench`: torchvision ResNets doing the same work as ours.

Run with Debian's interpreter (/usr/bin/python3, python3-torch 1.13 + python3-torchvision 0.14).
Train = forward + cross-entropy + backward + SGD step (lr 0.01, momentum 0.9, weight decay 1e-4);
eval = forward in eval mode under no_grad (or inference_mode). --precision bf16 runs the forward (and the loss)
under torch.autocast('cpu', dtype=torch.bfloat16): weights, gradients and the optimizer stay fp32. Inputs are random and made once,
so only the model is timed. Prints one JSON object per (model, mode) on stdout, nothing else there.
Peak RSS is the whole process's, so the caller runs one (model, mode) per process when it wants a peak
per row. CPU seconds per step (all threads) are reported beside wall time: on a shared machine they are
less disturbed by other processes than wall time is.
"""
import argparse
import json
import resource
import statistics
import sys
import time


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", default="resnet18,resnet50")
    p.add_argument("--modes", default="train,eval")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--threads", type=int, default=0, help="intra-op threads; 0 leaves PyTorch's default")
    p.add_argument("--interop-threads", type=int, default=0, help="inter-op threads; 0 leaves PyTorch's default")
    p.add_argument("--channels-last", action="store_true", help="model and input in channels-last memory format")
    p.add_argument("--eval-grad-mode", choices=["no_grad", "inference_mode"], default="no_grad")
    p.add_argument("--precision", choices=["fp32", "bf16"], default="fp32",
                   help="bf16: forward and loss under torch.autocast('cpu', dtype=torch.bfloat16)")
    p.add_argument("--classes", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args()


def peak_rss_bytes():
    """VmHWM of this process. Not ru_maxrss alone: Linux carries the parent's peak into ru_maxrss of a
    child started with vfork + exec (as .NET's Process.Start does), so ru_maxrss would report the caller's
    peak when that is larger. getrusage is the fallback where /proc is absent."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def measure(step, warmup, steps, cpu_clock=time.process_time):
    """Wall and CPU seconds (cpu_clock: this process's, all threads, unless the caller counts more) of each timed step."""
    for _ in range(warmup):
        step()
    wall, cpu = [], []
    for _ in range(steps):
        start, start_cpu = time.perf_counter(), cpu_clock()
        step()
        wall.append(time.perf_counter() - start)
        cpu.append(cpu_clock() - start_cpu)
    return wall, cpu


def autocast(torch, precision):
    """The mixed-precision context of --precision: CPU autocast to bfloat16, or nothing for fp32."""
    import contextlib
    return torch.autocast("cpu", dtype=torch.bfloat16) if precision == "bf16" else contextlib.nullcontext()


def bench_one(torch, torchvision, name, mode, a):
    torch.manual_seed(a.seed)
    model = getattr(torchvision.models, name)(num_classes=a.classes)
    x = torch.randn(a.batch, 3, a.size, a.size)
    y = torch.randint(0, a.classes, (a.batch,))
    if a.channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)

    if mode == "train":
        model.train()
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
        loss_fn = torch.nn.CrossEntropyLoss()

        def step():
            opt.zero_grad(set_to_none=False)  # PyTorch 1.13's default, and what TorchSharp does
            with autocast(torch, a.precision):
                loss = loss_fn(model(x), y)
            loss.backward()
            opt.step()
    else:
        model.eval()
        guard = torch.inference_mode if a.eval_grad_mode == "inference_mode" else torch.no_grad

        def step():
            with guard(), autocast(torch, a.precision):
                model(x)

    times, cpu = measure(step, a.warmup, a.steps)
    median = statistics.median(times)
    return {
        "model": name,
        "mode": mode,
        "images_per_s": a.batch / median,
        "median_step_s": median,
        "step_s": times,
        "cpu_s": cpu,
        "peak_rss_bytes": peak_rss_bytes(),
        "threads": torch.get_num_threads(),
        "interop_threads": torch.get_num_interop_threads(),
        "channels_last": a.channels_last,
        "precision": a.precision,
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
    }


def import_torch(script, a):
    """torch and torchvision with --threads/--interop-threads applied, or None after saying on stderr what is missing."""
    try:
        import torch
        import torchvision
    except ImportError as e:
        print(f"{script}: PyTorch is missing ({e}); install it with `apt-get install python3-torch python3-torchvision`.",
              file=sys.stderr)
        return None
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    if a.interop_threads > 0:
        torch.set_num_interop_threads(a.interop_threads)
    return torch, torchvision


def main():
    a = parse_args()
    libraries = import_torch("bench_models.py", a)
    if libraries is None:
        return 3
    torch, torchvision = libraries
    for name in a.models.split(","):
        for mode in a.modes.split(","):
            print(json.dumps(bench_one(torch, torchvision, name.strip(), mode.strip(), a)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
