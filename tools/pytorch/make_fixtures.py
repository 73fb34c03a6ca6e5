#!/usr/bin/python3
"""Parity fixtures for FineTune's torchvision-weights loader.

Writes, into the folder given as the only argument, for resnet18 and resnet50:
  <arch>.pth           the state dict, saved by torch.save (zip format), torchvision's random init
  <arch>.safetensors   the same tensors in the safetensors format (written by hand below)
  <arch>.logits.f32    PyTorch's eval-mode logits for input.f32, float32 little-endian [4, 1000]
and input.f32, a fixed batch float32 little-endian [4, 3, 224, 224], plus manifest.json.

Run with Debian's interpreter, which has python3-torch and python3-torchvision:
  /usr/bin/python3 tools/pytorch/make_fixtures.py <output folder>
The folder is written next to the target and renamed into place, so a half-written set is never seen.
"""
import json
import os
import shutil
import struct
import sys
import tempfile

import torch
import torchvision

BATCH = (4, 3, 224, 224)
ARCHS = ("resnet18", "resnet50")
SAFETENSORS_DTYPES = {torch.float32: "F32", torch.float64: "F64", torch.float16: "F16", torch.int64: "I64", torch.int32: "I32"}


def make_model(arch: str, seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    model = getattr(torchvision.models, arch)(weights=None)
    # torchvision initialises BatchNorm to weight 1, bias 0 and running stats 0/1; make every one of them
    # non-trivial so the comparison exercises all four BN tensors, not an identity.
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
    model.train()
    with torch.no_grad():
        for _ in range(3):
            model(torch.randn(8, 3, 112, 112))
    model.eval()
    return model


def write_safetensors(path: str, state: dict) -> None:
    """The safetensors layout: u64 little-endian header length, JSON header, then the raw tensor bytes."""
    # __metadata__ as safetensors' own torch writer adds it, so readers are tested against real-world headers.
    header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name, tensor in state.items():
        t = tensor.detach().contiguous().cpu()
        data = t.numpy().astype(t.numpy().dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {"dtype": SAFETENSORS_DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    raw += b" " * (-len(raw) % 8)  # the format pads the header to 8 bytes with spaces
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for blob in blobs:
            f.write(blob)


def write_f32(path: str, tensor: torch.Tensor) -> None:
    with open(path, "wb") as f:
        f.write(tensor.detach().contiguous().to(torch.float32).numpy().astype("<f4").tobytes())


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit("usage: make_fixtures.py <output folder>")
    target = os.path.abspath(sys.argv[1])
    parent = os.path.dirname(target)
    os.makedirs(parent, exist_ok=True)
    work = tempfile.mkdtemp(prefix=".fixtures-", dir=parent)
    try:
        torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
        torch.manual_seed(20240229)
        batch = torch.randn(*BATCH)
        write_f32(os.path.join(work, "input.f32"), batch)
        manifest = {"torch": torch.__version__, "torchvision": torchvision.__version__, "input": list(BATCH), "models": {}}
        for seed, arch in enumerate(ARCHS):
            model = make_model(arch, seed + 1)
            state = model.state_dict()
            torch.save(state, os.path.join(work, f"{arch}.pth"))
            write_safetensors(os.path.join(work, f"{arch}.safetensors"), state)
            with torch.no_grad():
                logits = model(batch)
            write_f32(os.path.join(work, f"{arch}.logits.f32"), logits)
            manifest["models"][arch] = {"logits": list(logits.shape), "max_abs_logit": float(logits.abs().max())}
        with open(os.path.join(work, "manifest.json"), "w") as f:
            json.dump(manifest, f, indent=2)
        if os.path.isdir(target):
            shutil.rmtree(target)
        try:
            os.rename(work, target)
        except OSError:
            # Another run renamed a complete set into place first: keep that one.
            if not os.path.isfile(os.path.join(target, "manifest.json")):
                raise
            shutil.rmtree(work, ignore_errors=True)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    print(f"fixtures written to {target}: {json.dumps(manifest['models'])}")


if __name__ == "__main__":
    main()
