#!/usr/bin/env python3
"""Writes a seeded random S x S picture as a 24-bit BMP and the model input it makes as raw float32 [3, S, S].

At exactly the model's size the resize and the crop change nothing, so the input is the pixels normalized with
CLIP's mean and std: the same on both sides of the comparison without any image library.

    test_picture.py SIZE OUT.bmp OUT.f32
"""
import struct
import sys

import numpy as np

MEAN = np.array([0.48145466, 0.4578275, 0.40821073], dtype=np.float32)
STD = np.array([0.26862954, 0.26130258, 0.27577711], dtype=np.float32)


def main():
    size, bmp_path, f32_path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    rgb = np.random.default_rng(14).integers(0, 256, size=(size, size, 3), dtype=np.uint8)
    row = size * 3
    pad = (4 - row % 4) % 4
    image_bytes = (row + pad) * size
    with open(bmp_path, "wb") as f:
        f.write(b"BM" + struct.pack("<IHHI", 54 + image_bytes, 0, 0, 54))
        f.write(struct.pack("<IiiHHIIiiII", 40, size, size, 1, 24, 0, image_bytes, 2835, 2835, 0, 0))
        for y in range(size - 1, -1, -1):  # bottom-up rows, BGR
            f.write(rgb[y, :, ::-1].tobytes() + b"\0" * pad)
    pixels = (rgb.astype(np.float32) / np.float32(255.0) - MEAN) / STD
    pixels.transpose(2, 0, 1).astype(np.float32).tofile(f32_path)


if __name__ == "__main__":
    main()
