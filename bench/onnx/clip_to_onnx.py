#!/usr/bin/env python3
"""Exports a CLIP checkpoint in OpenAI's layout (model.safetensors, float32; ViT or ModifiedResNet) to two ONNX files.

The image and text towers are written here in plain torch, with the conventions of OpenAI's CLIP models as
hailo-clip reads such a checkpoint without a config: QuickGELU, 64-wide attention heads, LayerNorm eps 1e-5, the
text tower's causal mask and pooling at the end-of-text token (the largest id). A checkpoint with an attention pool
(`visual.attnpool.*`) gets OpenAI's ModifiedResNet image tower (resnet_image_tower.py), any other the ViT. The
outputs are the raw projections (not normalized), as `hailo-clip embed-image --raw` prints them.

    clip_to_onnx.py MODEL_DIR OUT_DIR [--pixels FILE.f32 --ids 1,2,3 ...]

writes OUT_DIR/image.onnx (input `pixels` [batch, 3, S, S]) and OUT_DIR/text.onnx (input `ids` [batch, tokens],
int64, any length up to the context). With --pixels (raw float32 [3, S, S]) and --ids, it also prints torch's own
embeddings of them as JSON, to check the export and our engine against the same function.
"""
import argparse
import json
import math
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from resnet_image_tower import ResNetImageTower


def read_safetensors(path, only=None):
    """The float32 tensors of a safetensors file by name; `only`, when given, is the set of names to read."""
    with open(path, "rb") as f:
        header_len = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(header_len))
        data = f.read()
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__" or name.endswith(".num_batches_tracked"):  # BatchNorm's counter: not used
            continue
        if only is not None and name not in only:
            continue
        if info["dtype"] != "F32":
            raise SystemExit(f"{name}: only float32 checkpoints are supported here, not {info['dtype']}")
        begin, end = info["data_offsets"]
        array = np.frombuffer(data[begin:end], dtype=np.float32).reshape(info["shape"])
        tensors[name] = torch.from_numpy(array.copy())
    return tensors


class QuickGELU(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(1.702 * x)


class Block(nn.Module):
    """A pre-LayerNorm transformer block; x is [batch, tokens, width]."""

    def __init__(self, width):
        super().__init__()
        self.heads = width // 64
        self.ln_1 = nn.LayerNorm(width)
        self.in_proj = nn.Linear(width, 3 * width)
        self.out_proj = nn.Linear(width, width)
        self.ln_2 = nn.LayerNorm(width)
        self.c_fc = nn.Linear(width, 4 * width)
        self.gelu = QuickGELU()
        self.c_proj = nn.Linear(4 * width, width)

    def attention(self, x, mask):
        b, t, w = x.shape
        q, k, v = self.in_proj(x).chunk(3, dim=-1)
        split = lambda y: y.reshape(b, t, self.heads, w // self.heads).transpose(1, 2)
        q, k, v = split(q), split(k), split(v)
        scores = q @ k.transpose(-1, -2) / math.sqrt(w // self.heads)
        if mask is not None:
            scores = scores + mask
        out = scores.softmax(dim=-1) @ v
        return self.out_proj(out.transpose(1, 2).reshape(b, t, w))

    def forward(self, x, mask=None):
        x = x + self.attention(self.ln_1(x), mask)
        return x + self.c_proj(self.gelu(self.c_fc(self.ln_2(x))))

    def load(self, sd, prefix):
        self.ln_1.weight.data, self.ln_1.bias.data = sd[prefix + "ln_1.weight"], sd[prefix + "ln_1.bias"]
        self.in_proj.weight.data = sd[prefix + "attn.in_proj_weight"]
        self.in_proj.bias.data = sd[prefix + "attn.in_proj_bias"]
        self.out_proj.weight.data = sd[prefix + "attn.out_proj.weight"]
        self.out_proj.bias.data = sd[prefix + "attn.out_proj.bias"]
        self.ln_2.weight.data, self.ln_2.bias.data = sd[prefix + "ln_2.weight"], sd[prefix + "ln_2.bias"]
        self.c_fc.weight.data, self.c_fc.bias.data = sd[prefix + "mlp.c_fc.weight"], sd[prefix + "mlp.c_fc.bias"]
        self.c_proj.weight.data = sd[prefix + "mlp.c_proj.weight"]
        self.c_proj.bias.data = sd[prefix + "mlp.c_proj.bias"]


def block_count(sd, prefix):
    return len({k[len(prefix):].split(".")[0] for k in sd if k.startswith(prefix)})


class ImageTower(nn.Module):
    def __init__(self, sd):
        super().__init__()
        conv = sd["visual.conv1.weight"]
        width, patch = conv.shape[0], conv.shape[2]
        self.patch = patch
        self.conv1 = nn.Conv2d(3, width, patch, stride=patch, bias=False)
        self.conv1.weight.data = conv
        self.class_embedding = nn.Parameter(sd["visual.class_embedding"])
        self.positional_embedding = nn.Parameter(sd["visual.positional_embedding"])
        self.ln_pre = nn.LayerNorm(width)
        self.ln_pre.weight.data, self.ln_pre.bias.data = sd["visual.ln_pre.weight"], sd["visual.ln_pre.bias"]
        self.blocks = nn.ModuleList(Block(width) for _ in range(block_count(sd, "visual.transformer.resblocks.")))
        for i, b in enumerate(self.blocks):
            b.load(sd, f"visual.transformer.resblocks.{i}.")
        self.ln_post = nn.LayerNorm(width)
        self.ln_post.weight.data, self.ln_post.bias.data = sd["visual.ln_post.weight"], sd["visual.ln_post.bias"]
        self.proj = nn.Parameter(sd["visual.proj"])
        self.image_size = int(round(math.sqrt(sd["visual.positional_embedding"].shape[0] - 1))) * patch

    def forward(self, pixels):
        x = self.conv1(pixels).flatten(2).transpose(1, 2)  # [batch, patches, width]
        cls = self.class_embedding.expand(x.shape[0], 1, -1)
        x = torch.cat([cls, x], dim=1) + self.positional_embedding
        x = self.ln_pre(x)
        for b in self.blocks:
            x = b(x)
        return self.ln_post(x[:, 0, :]) @ self.proj


def image_tower(sd):
    """OpenAI's ModifiedResNet when the checkpoint has an attention pool, the ViT otherwise."""
    return ResNetImageTower(sd) if "visual.attnpool.positional_embedding" in sd else ImageTower(sd)


class TextTower(nn.Module):
    def __init__(self, sd):
        super().__init__()
        emb = sd["token_embedding.weight"]
        width = emb.shape[1]
        self.token_embedding = nn.Embedding(emb.shape[0], width)
        self.token_embedding.weight.data = emb
        self.positional_embedding = nn.Parameter(sd["positional_embedding"])
        self.blocks = nn.ModuleList(Block(width) for _ in range(block_count(sd, "transformer.resblocks.")))
        for i, b in enumerate(self.blocks):
            b.load(sd, f"transformer.resblocks.{i}.")
        self.ln_final = nn.LayerNorm(width)
        self.ln_final.weight.data, self.ln_final.bias.data = sd["ln_final.weight"], sd["ln_final.bias"]
        self.text_projection = nn.Parameter(sd["text_projection"])

    def forward(self, ids):
        t = ids.shape[1]
        x = self.token_embedding(ids) + self.positional_embedding[:t]
        mask = torch.full((t, t), float("-inf")).triu(1)
        for b in self.blocks:
            x = b(x, mask)
        x = self.ln_final(x)
        eot = ids.argmax(dim=-1)  # the end-of-text token has the largest id
        return x[torch.arange(x.shape[0]), eot] @ self.text_projection


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("model_dir")
    parser.add_argument("out_dir")
    parser.add_argument("--pixels", help="raw float32 [3, S, S], the model's input for one picture")
    parser.add_argument("--ids", action="append", default=[], help="comma-separated token ids (repeatable)")
    args = parser.parse_args()

    torch.set_grad_enabled(False)
    sd = read_safetensors(args.model_dir + "/model.safetensors")
    image, text = image_tower(sd).eval(), TextTower(sd).eval()
    size = image.image_size

    torch.onnx.export(image, torch.zeros(1, 3, size, size), args.out_dir + "/image.onnx", input_names=["pixels"],
                      output_names=["embedding"], dynamic_axes={"pixels": {0: "batch"}}, opset_version=14)
    sample = torch.tensor([[49406, 320, 1125, 49407]], dtype=torch.int64)
    torch.onnx.export(text, sample, args.out_dir + "/text.onnx", input_names=["ids"], output_names=["embedding"],
                      dynamic_axes={"ids": {0: "batch", 1: "tokens"}}, opset_version=14)

    answer = {"image_size": size}
    if args.pixels:
        pixels = torch.from_numpy(np.fromfile(args.pixels, dtype=np.float32).reshape(1, 3, size, size))
        answer["image"] = image(pixels)[0].tolist()
    answer["texts"] = [text(torch.tensor([[int(v) for v in s.split(",")]]))[0].tolist() for s in args.ids]
    json.dump(answer, sys.stdout)


if __name__ == "__main__":
    main()
