#!/bin/bash
# A second image folder that is not Caltech-101, built offline from Debian's openclipart-png (Open Clip Art Library
# 0.18, public domain): drawings, not photos, so it also shows how far ImageNet features carry to another kind of image.
# One class per second-level category (food/fruit -> food_fruit, sub-folders included) with at least MIN distinct drawings;
# computer/icons, a catch-all of every subject, is left out; at most MAX per class, taken evenly from the sorted list so
# the large categories (stars, flags) do not swamp the rest.
#
#   tools/datasets/openclipart.sh [OUT]        # default data/openclipart; needs apt-get (no root) and dpkg
#   finetune train --data_dir data/openclipart
set -euo pipefail
out=${1:-data/openclipart}
min=${MIN:-28}
max=${MAX:-150}
if [ -e "$out" ]; then echo "openclipart.sh: $out already exists; delete it to build it again." >&2; exit 1; fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get download openclipart-png >/dev/null 2>&1) || { echo "openclipart.sh: apt-get download openclipart-png failed (Debian's apt is needed)." >&2; exit 1; }
dpkg -x "$work"/openclipart-png_*.deb "$work/x"
root="$work/x/usr/share/openclipart/png"
mkdir -p "$work/out"
cd "$root"
for dir in $(find . -mindepth 2 -maxdepth 2 -type d | sed 's|^\./||' | LC_ALL=C sort); do
  [ "$dir" = computer/icons ] && continue
  LC_ALL=C find "$dir" -name '*.png' | LC_ALL=C sort > "$work/list"
  n=$(wc -l < "$work/list")
  # Counted by content: the package repeats drawings under other names (special/gradients is 119 files of 2 images).
  distinct=$(tr '\n' '\0' < "$work/list" | xargs -0 sha256sum | awk '{print $1}' | sort -u | wc -l)
  [ "$distinct" -lt "$min" ] && continue
  class=${dir//\//_}
  mkdir -p "$work/out/$class"
  # k evenly spaced files out of n: the (floor(i*n/k)+1)-th for i = 0..k-1.
  awk -v n="$n" -v max="$max" 'BEGIN { k = n < max ? n : max; for (i = 0; i < k; i++) take[int(i * n / k) + 1] = 1 } take[NR]' "$work/list" |
    while read -r f; do rel=${f#"$dir"/}; cp "$f" "$work/out/$class/${rel//\//_}"; done
done
# The package files some drawings under several categories (a bat in birds and in mammals, arrows in buttons and in
# arrows): such a file's labels contradict each other, so every copy of it goes. Copies within a class keep the first.
(cd "$work/out" && find . -type f -print0 | xargs -0 sha256sum | LC_ALL=C sort -k2) > "$work/sums"
awk '{ h = $1; f = substr($0, 67); c = f; sub(/^\.\//, "", c); sub(/\/.*/, "", c);
       if (!(h SUBSEP c in seen)) { seen[h, c] = 1; classes[h]++ } else print f
       files[h] = files[h] "\n" f }
     END { for (h in classes) if (classes[h] > 1) printf "%s", files[h] }' "$work/sums" |
  sed '/^$/d' | LC_ALL=C sort -u | (cd "$work/out" && tr '\n' '\0' | xargs -0 -r rm -f)
# Classes that this leaves with fewer than MIN drawings go too.
for d in "$work/out"/*/; do [ "$(ls "$d" | wc -l)" -lt "$min" ] && rm -rf "$d"; done
mkdir -p "$(dirname "$out")"
mv "$work/out" "$out"
echo "openclipart.sh: $(find "$out" -name '*.png' | wc -l) drawings in $(ls "$out" | wc -l) classes under $out"
