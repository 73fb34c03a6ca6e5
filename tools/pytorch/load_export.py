#!/usr/bin/python3
"""Load a model written by `finetune export` (the .pth state dict and the .json beside it) in PyTorch, exactly as
FineTune runs it, and classify images.

The JSON says what a state dict alone cannot: the network to build (torchvision's ResNet class with the block and
layer counts given; the bundled ResNet-18 has [2, 2, 2, 3], so torchvision's resnet18() does not fit it), the
preprocessing (pixel scale, channel order, mean image or mean, std), the evaluation resize and size, and the class
names. Needs torch and torchvision (Debian: python3-torch python3-torchvision) and PIL.

    python3 tools/pytorch/load_export.py model.pth photo.jpg [more.jpg ...] [--topk 5] [--json]

As a module (put tools/pytorch on sys.path):

    from load_export import load
    model, preprocess, class_names = load("model.pth")       # model in eval mode
    logits = model(preprocess(PIL.ImageOps.exif_transpose(PIL.Image.open("photo.jpg"))).unsqueeze(0))   # upright, as FineTune reads photos
"""
import argparse
import base64
import json
import os
import sys


def read_manifest(pth_path):
    json_path = os.path.splitext(pth_path)[0] + ".json"
    if not os.path.exists(json_path):
        sys.exit(f"load_export: {json_path} not found: export with `finetune export --model_path CKPT --output {pth_path}`, "
                 "which writes the JSON beside the .pth.")
    with open(json_path, encoding="utf-8") as f:
        manifest = json.load(f)
    if manifest.get("format") != "finetune-pytorch-export/1":
        sys.exit(f"load_export: {json_path} is not a finetune export manifest (format {manifest.get('format')!r}).")
    return manifest


def build_model(manifest, pth_path):
    import torch
    from torchvision.models.resnet import BasicBlock, Bottleneck, ResNet

    arch = manifest["architecture"]
    block = {"BasicBlock": BasicBlock, "Bottleneck": Bottleneck}[arch["block"]]
    model = ResNet(block, arch["layers"], num_classes=arch["num_classes"])
    model.load_state_dict(torch.load(pth_path, map_location="cpu"))  # strict: every key must match
    return model.eval()


def make_preprocess(manifest):
    """PIL image -> float32 tensor [3, S, S] as the model expects it (FineTune's evaluation pipeline)."""
    import torch
    import torch.nn.functional as F
    from PIL import Image
    from torchvision.transforms.functional import to_tensor

    p, ev = manifest["preprocessing"], manifest["eval"]
    size = ev["size"]
    std = torch.tensor(p["std"], dtype=torch.float32).view(3, 1, 1)
    if p.get("mean_image"):
        m = p["mean_image"]
        assert m["dtype"] == "float32" and m["byte_order"] == "little"
        mean = torch.frombuffer(bytearray(base64.b64decode(m["base64"])), dtype=torch.float32).view(*m["shape"]).clone()
        if tuple(mean.shape[1:]) != (size, size):  # only when someone edits eval.size
            mean = F.interpolate(mean[None], size=(size, size), mode="bilinear", align_corners=False)[0]
    else:
        mean = torch.tensor(p["mean"], dtype=torch.float32).view(3, 1, 1)

    def preprocess(image):
        image = image.convert("RGB")
        w, h = image.size
        if ev["resize"] == "center_crop":
            side = min(w, h) * ev["crop_fraction"]
            box = ((w - side) / 2, (h - side) / 2, (w + side) / 2, (h + side) / 2)
        else:  # stretch: the whole image to a square, aspect ratio ignored
            box = (0, 0, w, h)
        # PIL's bilinear filter widens with the shrink factor (antialiasing), as torchvision's Resize on PIL images.
        image = image.resize((size, size), Image.BILINEAR, box=box)
        x = to_tensor(image) * p["pixel_scale"]
        if p["channel_order"] == "BGR":
            x = x.flip(0)
        return (x - mean) / std

    return preprocess


def load(pth_path):
    """(model in eval mode, preprocess: PIL image -> [3, S, S] tensor, class names)."""
    manifest = read_manifest(pth_path)
    return build_model(manifest, pth_path), make_preprocess(manifest), manifest["class_names"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("pth")
    ap.add_argument("images", nargs="+")
    ap.add_argument("--topk", type=int, default=5)
    ap.add_argument("--json", action="store_true", help="print JSON with the logits too")
    args = ap.parse_args()

    import torch
    from PIL import Image, ImageOps

    model, preprocess, class_names = load(args.pth)
    results = []
    with torch.no_grad():
        for path in args.images:
            with Image.open(path) as image:
                # Upright, as FineTune decodes photos: a phone's portrait photo is stored sideways with an EXIF orientation.
                logits = model(preprocess(ImageOps.exif_transpose(image)).unsqueeze(0))[0]
            probabilities = torch.softmax(logits, 0)
            top = torch.topk(probabilities, min(args.topk, len(class_names)))
            results.append({
                "path": path,
                "predictions": [{"class": class_names[i], "probability": float(v)} for v, i in zip(top.values.tolist(), top.indices.tolist())],
                "logits": logits.tolist(),
            })
    if args.json:
        print(json.dumps(results, indent=2))
        return
    for r in results:
        for rank, p in enumerate(r["predictions"], 1):
            print(f"{r['path'] if rank == 1 else '':<40} {rank:>2}  {p['class']:<30} {100 * p['probability']:6.2f}%")


if __name__ == "__main__":
    main()
