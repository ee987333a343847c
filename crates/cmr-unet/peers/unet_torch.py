"""The cmr-unet U-Net in PyTorch, with the same parameter names, shapes, initialisation and
operations as the Rust crate (crates/cmr-unet/src), so that a state dict moves between the two
unchanged (PyTorch's extra `*.num_batches_tracked` counters aside).

The configuration is the JSON that `UNetConfig::to_json` writes and every checkpoint stores in
its safetensors metadata under `cmr_unet.config`:
    {"in_channels": 1, "base_channels": 16, "levels": 5, "downsample": "max_pool",
     "upsample": "transposed_conv", "heads": [{"name": "positions", "channels": 10}]}
"""

import json

import torch
import torch.nn.functional as F
from torch import nn

CONFIG_METADATA_KEY = "cmr_unet.config"


class ConvBlock(nn.Module):
    """Two (3x3 conv without bias -> BatchNorm -> ReLU): conv1, bn1, conv2, bn2."""

    def __init__(self, in_ch, out_ch):
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_ch)
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_ch)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)), inplace=True)
        return F.relu(self.bn2(self.conv2(x)), inplace=True)


class StridedDown(nn.Module):
    """3x3 stride-2 conv without bias -> BatchNorm -> ReLU: conv, bn."""

    def __init__(self, ch):
        super().__init__()
        self.conv = nn.Conv2d(ch, ch, 3, stride=2, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(ch)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)), inplace=True)


class BilinearUp(nn.Module):
    """Bilinear x2 (align_corners=False) then a 1x1 conv with bias: weight, bias."""

    def __init__(self, in_ch, out_ch):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(out_ch, in_ch, 1, 1))
        self.bias = nn.Parameter(torch.empty(out_ch))
        conv = nn.Conv2d(in_ch, out_ch, 1)
        with torch.no_grad():
            self.weight.copy_(conv.weight)
            self.bias.copy_(conv.bias)

    def forward(self, x):
        h, w = x.shape[-2:]
        x = F.interpolate(x, size=(2 * h, 2 * w), mode="bilinear", align_corners=False)
        return F.conv2d(x, self.weight, self.bias)


class Encoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        widths = [cfg["base_channels"] << i for i in range(cfg["levels"])]
        self.max_pool = cfg["downsample"] == "max_pool"
        self.blocks = nn.ModuleList()
        downs = []
        in_ch = cfg["in_channels"]
        for i, w in enumerate(widths):
            if i > 0 and not self.max_pool:
                downs.append(StridedDown(in_ch))
            self.blocks.append(ConvBlock(in_ch, w))
            in_ch = w
        if downs:
            self.downs = nn.ModuleList(downs)

    def forward(self, x):
        features = []
        for i, block in enumerate(self.blocks):
            if i > 0:
                prev = features[-1]
                x = F.max_pool2d(prev, 2, 2) if self.max_pool else self.downs[i - 1](prev)
            features.append(block(x))
        return features


class Decoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        widths = [cfg["base_channels"] << i for i in range(cfg["levels"])]
        self.ups = nn.ModuleList()
        self.blocks = nn.ModuleList()
        for i in reversed(range(len(widths) - 1)):
            if cfg["upsample"] == "transposed_conv":
                self.ups.append(nn.ConvTranspose2d(widths[i + 1], widths[i], 2, stride=2))
            else:
                self.ups.append(BilinearUp(widths[i + 1], widths[i]))
            self.blocks.append(ConvBlock(2 * widths[i], widths[i]))

    def forward(self, features):
        x = features[-1]
        for j, (up, block) in enumerate(zip(self.ups, self.blocks)):
            skip = features[len(features) - 2 - j]
            x = block(torch.cat([skip, up(x)], dim=1))
        return x


class UNet(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.encoder = Encoder(cfg)
        self.decoder = Decoder(cfg)
        self.heads = nn.ModuleDict(
            {h["name"]: nn.Conv2d(cfg["base_channels"], h["channels"], 1) for h in cfg["heads"]}
        )
        self.multiple = 1 << (cfg["levels"] - 1)

    def forward(self, x):
        """Dict of head name -> logits at the input size (pad to a multiple, crop back)."""
        h, w = x.shape[-2:]
        m = self.multiple
        pad_h, pad_w = (m - h % m) % m, (m - w % m) % m
        top, left = pad_h // 2, pad_w // 2
        if pad_h or pad_w:
            x = F.pad(x, (left, pad_w - left, top, pad_h - top))
        trunk = self.decoder(self.encoder(x))
        if pad_h or pad_w:
            trunk = trunk[:, :, top : top + h, left : left + w]
        return {name: head(trunk) for name, head in sorted(self.heads.items())}


def config_from_metadata(metadata):
    return json.loads(metadata[CONFIG_METADATA_KEY])


def config_metadata(cfg):
    return {CONFIG_METADATA_KEY: json.dumps(cfg), "format": "pt"}


def load_ours(model, state):
    """load_state_dict for a cmr-unet checkpoint: strict except PyTorch's BatchNorm counters."""
    result = model.load_state_dict(state, strict=False)
    missing = [k for k in result.missing_keys if not k.endswith("num_batches_tracked")]
    if missing or result.unexpected_keys:
        raise ValueError(f"missing {missing}, unexpected {result.unexpected_keys}")
