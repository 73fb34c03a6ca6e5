#!/usr/bin/python3
"""Reference for `finetune data bench`: torchvision ImageFolder + DataLoader with the seed's training transforms.

Reads the same images as the C# side (a list of paths relative to --data_dir) and prints
`images_per_second N` for one epoch over them (worker start-up included, as on the C# side).
Run with Debian's /usr/bin/python3 (python3-torch, python3-torchvision).
"""
import argparse
import os
import time

import torch
from torch.utils.data import DataLoader, Subset
from torchvision import datasets, transforms


class Folder(datasets.ImageFolder):
    """ImageFolder without Caltech-101's clutter class, as the seed does."""

    def find_classes(self, directory):
        classes = sorted(e.name for e in os.scandir(directory) if e.is_dir() and e.name != "BACKGROUND_Google" and not e.name.startswith("."))
        return classes, {c: i for i, c in enumerate(classes)}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data_dir", required=True)
    p.add_argument("--list", required=True, help="file with one relative image path per line")
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--batch_size", type=int, default=32)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()

    train = transforms.Compose([
        transforms.RandomResizedCrop(224, scale=(0.8, 1.0), ratio=(0.8, 1.2)),
        transforms.RandomHorizontalFlip(),
        transforms.RandomRotation(15),
        transforms.ToTensor(),
        transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
    ])
    # ImageFolder only accepts known extensions; the C# side sniffs content, so take every listed file.
    wanted = set(l.strip() for l in open(a.list, encoding="utf-8") if l.strip())
    folder = Folder(a.data_dir, transform=train, is_valid_file=lambda path: True)
    root = os.path.abspath(a.data_dir)
    picked = [i for i, (path, _) in enumerate(folder.samples) if os.path.relpath(path, root).replace(os.sep, "/") in wanted]
    subset = Subset(folder, picked)
    torch.manual_seed(a.seed)
    loader = DataLoader(subset, batch_size=a.batch_size, shuffle=True, num_workers=a.workers)

    start = time.perf_counter()
    images = 0
    for x, y in loader:
        images += x.shape[0]
    elapsed = time.perf_counter() - start
    print(f"images {images}")
    print(f"images_per_second {images / elapsed:.3f}")


if __name__ == "__main__":
    main()
