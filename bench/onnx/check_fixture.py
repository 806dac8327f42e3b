#!/usr/bin/env python3
"""Checks the torch image towers of clip_to_onnx.py against a fixture model's reference outputs.

    check_fixture.py FIXTURE_MODEL_DIR

The folder needs model.safetensors and an expected.safetensors with `pixel_values` (the model's own inputs) and
`image_embeds_normalized` (as the fixtures' ResNet model has). Prints the largest difference of the normalized
embeddings and exits 1 when it is above the fixtures' float32 acceptance, 5e-5.
"""
import sys

import torch

from clip_to_onnx import image_tower, read_safetensors

TOLERANCE = 5e-5


def main():
    model_dir = sys.argv[1]
    torch.set_grad_enabled(False)
    tower = image_tower(read_safetensors(model_dir + "/model.safetensors")).eval()
    expected = read_safetensors(model_dir + "/expected.safetensors", only={"pixel_values", "image_embeds_normalized"})
    got = torch.nn.functional.normalize(tower(expected["pixel_values"]).double(), dim=-1)
    worst = (got - expected["image_embeds_normalized"].double()).abs().max().item()
    print(f"{model_dir}: {got.shape[0]} images, max |normalized difference| {worst:.1e}")
    return 0 if worst <= TOLERANCE else 1


if __name__ == "__main__":
    sys.exit(main())
