"""OpenAI's ModifiedResNet image tower (the RN50 / RN50x4 family) in plain torch, from an OpenAI-layout state dict.

The architecture, as OpenAI's CLIP defines it: a stem of three 3x3 convolutions (stride 2, 1, 1; widths w/2, w/2, w),
each followed by BatchNorm and ReLU, then 2x2 average pooling; four stages of Bottleneck blocks (planes w, 2w, 4w,
8w; expansion 4) whose first block strides 1, 2, 2, 2, the stride done by average pooling after the 3x3 convolution
(anti-aliasing) and, on the shortcut, by average pooling before a 1x1 convolution; then AttentionPool2d: the grid
flattened to tokens, their mean prepended, a positional embedding added, one multi-head attention whose only query
is the mean token, and c_proj. Everything else (widths, block counts, heads = 32w / 64, image size = 32 x grid) comes
from the tensor shapes. BatchNorm uses its running statistics (eps 1e-5), as in eval mode.
"""
import math

import torch
import torch.nn.functional as F
from torch import nn


def conv_bn(sd, conv_name, bn_name, padding):
    """A bias-free convolution and its BatchNorm, loaded from the state dict."""
    weight = sd[conv_name + ".weight"]
    conv = nn.Conv2d(weight.shape[1], weight.shape[0], weight.shape[2], padding=padding, bias=False)
    conv.weight.data = weight
    bn = nn.BatchNorm2d(weight.shape[0], eps=1e-5)
    for field in ("weight", "bias", "running_mean", "running_var"):
        getattr(bn, field).data = sd[f"{bn_name}.{field}"]
    return nn.Sequential(conv, bn)


class Bottleneck(nn.Module):
    def __init__(self, sd, prefix, stride):
        super().__init__()
        self.stride = stride
        self.branch1 = conv_bn(sd, prefix + "conv1", prefix + "bn1", 0)
        self.branch2 = conv_bn(sd, prefix + "conv2", prefix + "bn2", 1)
        self.branch3 = conv_bn(sd, prefix + "conv3", prefix + "bn3", 0)
        has_downsample = prefix + "downsample.0.weight" in sd
        self.downsample = conv_bn(sd, prefix + "downsample.0", prefix + "downsample.1", 0) if has_downsample else None

    def pool(self, x):
        return F.avg_pool2d(x, self.stride) if self.stride > 1 else x

    def forward(self, x):
        out = F.relu(self.branch1(x))
        out = self.pool(F.relu(self.branch2(out)))
        out = self.branch3(out)
        shortcut = self.downsample(self.pool(x)) if self.downsample is not None else x
        return F.relu(out + shortcut)


class AttentionPool(nn.Module):
    def __init__(self, sd, prefix, heads):
        super().__init__()
        self.heads = heads
        self.positional_embedding = nn.Parameter(sd[prefix + "positional_embedding"])
        for name in ("q_proj", "k_proj", "v_proj", "c_proj"):
            weight = sd[f"{prefix}{name}.weight"]
            linear = nn.Linear(weight.shape[1], weight.shape[0])
            linear.weight.data, linear.bias.data = weight, sd[f"{prefix}{name}.bias"]
            setattr(self, name, linear)

    def forward(self, x):
        b, c = x.shape[0], x.shape[1]
        tokens = x.flatten(2).transpose(1, 2)  # [batch, grid cells, channels]
        tokens = torch.cat([tokens.mean(dim=1, keepdim=True), tokens], dim=1) + self.positional_embedding
        hd = c // self.heads
        q = self.q_proj(tokens[:, :1]).reshape(b, 1, self.heads, hd).transpose(1, 2)
        k = self.k_proj(tokens).reshape(b, -1, self.heads, hd).transpose(1, 2)
        v = self.v_proj(tokens).reshape(b, -1, self.heads, hd).transpose(1, 2)
        weights = (q @ k.transpose(-1, -2) / math.sqrt(hd)).softmax(dim=-1)
        return self.c_proj((weights @ v).transpose(1, 2).reshape(b, c))


def stage_block_count(sd, stage):
    prefix = f"visual.layer{stage}."
    return len({k[len(prefix):].split(".")[0] for k in sd if k.startswith(prefix)})


class ResNetImageTower(nn.Module):
    def __init__(self, sd):
        super().__init__()
        self.stem = nn.ModuleList(conv_bn(sd, f"visual.conv{i}", f"visual.bn{i}", 1) for i in (1, 2, 3))
        self.stem[0][0].stride = (2, 2)
        blocks = []
        for stage in (1, 2, 3, 4):
            for i in range(stage_block_count(sd, stage)):
                stride = 2 if stage > 1 and i == 0 else 1
                blocks.append(Bottleneck(sd, f"visual.layer{stage}.{i}.", stride))
        self.blocks = nn.ModuleList(blocks)
        width = sd["visual.conv3.weight"].shape[0]
        self.attnpool = AttentionPool(sd, "visual.attnpool.", heads=width * 32 // 64)
        grid = int(round(math.sqrt(sd["visual.attnpool.positional_embedding"].shape[0] - 1)))
        self.image_size = grid * 32

    def forward(self, pixels):
        x = pixels
        for conv in self.stem:
            x = F.relu(conv(x))
        x = F.avg_pool2d(x, 2)
        for block in self.blocks:
            x = block(x)
        return self.attnpool(x)
