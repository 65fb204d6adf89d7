"""Embedded synthetic images: ten classes of textured shapes in clutter.

CIFAR cannot be downloaded everywhere and a CIFAR epoch on two CPU cores takes
minutes, so the default dataset is generated here: seeded, procedural, no files.

What an image shows (all geometry in units where the image spans [-1, 1]):

* **Class = shape x texture.** The main object is one of five shapes (disc,
  triangle, rounded square, five-lobed star, ring) filled with one of two
  two-colour textures (straight stripes, or a checkerboard). Class ``k`` is
  shape ``k // 2`` with texture ``k % 2``, so neither the outline nor the
  texture alone names the class: a network has to find the object's outline
  and the pattern inside it and combine the two.
* **Nuisance factors the label does not depend on.** Position jitter, size,
  rotation, aspect ratio (stretched discs look like ellipses, stretched squares
  like rectangles), shape morphing (square corner roundness, star lobe depth,
  ring hole size), texture orientation, frequency, phase and edge hardness, and
  every colour are drawn at random per image; colours carry no class signal.
* **Clutter.** A smooth random background (two-colour gradient plus
  low-frequency colour noise), up to three bars and two blobs, some drawn over
  the object (occlusion), and half the time a smaller textured decoy patch
  whose texture is random, so "which texture is present" is not enough: it is
  the texture of the large shape that counts.
* **Label-independent ambiguity, not label noise.** Every label is correct,
  but some images are genuinely hard: low colour contrast between object and
  background, a small object at 16x16 where a period of the texture spans few
  pixels, a round-cornered square next to a disc, heavy occlusion, pixel noise.

The classes are exactly balanced within each block of 200 images, and a
horizontal flip never changes an image's class (no class is the mirror image of
another), so the paper's flip augmentation preserves labels.

Scenes are drawn in blocks of 200 from a generator seeded by ``(seed, split,
block)``, so the same seed gives bit-identical tensors (with one torch build on
one kind of CPU: vectorised ``sin``/``exp`` may differ in the last bit on
another, which can move a pixel by one level), the first ``n`` images of a
split do not depend on how many more are asked for, and a scene is the same at
every ``image_size`` up to pixel noise.

How hard it is (measured on 2 CPU cores, 16x16, seed 0): a pre-activation
ResNet-56 of width 8 trained for 8 epochs (SGD lr 0.1, /10 at 50% and 75%,
batch 128, pad-crop-flip) ends at about 35% validation error on 16k training
images and about 50% on 8k; a ResNet-20 reaches 28% validation accuracy after
its first epoch. Most remaining errors confuse rounded squares with discs.
"""

from __future__ import annotations

import hashlib
import math

import torch
import torch.nn.functional as F

__all__ = ["CLASS_NAMES", "NUM_CLASSES", "generate"]

SHAPES = ("disc", "triangle", "square", "star", "ring")
TEXTURES = ("stripes", "checks")
CLASS_NAMES = tuple(f"{shape}-{texture}" for shape in SHAPES for texture in TEXTURES)
NUM_CLASSES = len(CLASS_NAMES)

_BLOCK = 200  # a multiple of NUM_CLASSES, so every block is exactly balanced
_N_BARS = 3
_N_BLOBS = 2


def generate(n: int, *, image_size: int, seed: int, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Render ``n`` images of one split.

    Args:
        n: Number of images.
        image_size: Height and width in pixels; images are drawn directly at this size.
        seed: The dataset seed.
        split: A name that gives the split its own random stream (``"train"``, ``"val"``, ``"test"``).

    Returns:
        ``(x, y)``: uint8 images ``[n, 3, image_size, image_size]`` and int64 labels ``[n]``.
    """
    xs, ys = [], []
    for block in range(math.ceil(n / _BLOCK)):
        g = torch.Generator().manual_seed(_block_seed(seed, split, block))
        params = _draw_scenes(_BLOCK, g)
        x = _render(params, image_size, g)
        keep = min(_BLOCK, n - block * _BLOCK)
        xs.append(x[:keep])
        ys.append(params["y"][:keep])
    if not xs:
        return torch.empty(0, 3, image_size, image_size, dtype=torch.uint8), torch.empty(0, dtype=torch.int64)
    return torch.cat(xs), torch.cat(ys)


def _block_seed(seed: int, split: str, block: int) -> int:
    # A hash, not seed + offset: neighbouring seeds must not share blocks.
    digest = hashlib.sha256(f"unitsearch-synthetic:{seed}:{split}:{block}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & (2**63 - 1)


def _u(g: torch.Generator, lo: float, hi: float, *shape: int) -> torch.Tensor:
    return lo + (hi - lo) * torch.rand(*shape, generator=g)


def _draw_scenes(n: int, g: torch.Generator) -> dict[str, torch.Tensor]:
    """Every random choice of a block except pixel noise, independent of image size."""
    y = (torch.arange(n) % NUM_CLASSES)[torch.randperm(n, generator=g)]
    return {
        "y": y,
        # main object: where, how big, how turned and stretched
        "center": _u(g, -0.2, 0.2, n, 2),
        "radius": _u(g, 0.6, 0.8, n),
        "rotation": _u(g, 0.0, 2 * math.pi, n),
        "log_aspect": _u(g, -0.2, 0.2, n),
        "morph": torch.rand(n, generator=g),  # per-shape deformation in [0, 1)
        # texture: orientation, cycles per object radius, phases, edge hardness
        "tex_angle": _u(g, 0.0, math.pi, n),
        "tex_freq": _u(g, 0.8, 1.3, n),
        "tex_phase": _u(g, 0.0, 2 * math.pi, n, 2),
        "tex_gain": _u(g, 3.0, 6.0, n),
        "colors": _contrasting_pair(n, g),
        # background
        "bg_colors": 0.5 + 0.65 * (torch.rand(n, 2, 3, generator=g) - 0.5),  # a little duller than objects
        "bg_angle": _u(g, 0.0, 2 * math.pi, n),
        "bg_noise": torch.randn(n, 3, 4, 4, generator=g) * _u(g, 0.03, 0.15, n, 1, 1, 1),
        # decoy: a small textured patch with a random texture
        "decoy_on": torch.rand(n, generator=g) < 0.2,
        "decoy_center": _u(g, -0.85, 0.85, n, 2),
        "decoy_radius": _u(g, 0.16, 0.28, n),
        "decoy_checks": torch.rand(n, generator=g) < 0.5,
        "decoy_angle": _u(g, 0.0, math.pi, n),
        "decoy_phase": _u(g, 0.0, 2 * math.pi, n, 2),
        "decoy_colors": _contrasting_pair(n, g),
        # clutter: bars and blobs, each present with p=0.6, a third of them over the object
        "bar_on": torch.rand(n, _N_BARS, generator=g) < 0.25,
        "bar_top": torch.rand(n, _N_BARS, generator=g) < 0.33,
        "bar_center": _u(g, -1.0, 1.0, n, _N_BARS, 2),
        "bar_angle": _u(g, 0.0, math.pi, n, _N_BARS),
        "bar_half_len": _u(g, 0.15, 0.5, n, _N_BARS),
        "bar_half_width": _u(g, 0.05, 0.1, n, _N_BARS),
        "bar_color": torch.rand(n, _N_BARS, 3, generator=g),
        "blob_on": torch.rand(n, _N_BLOBS, generator=g) < 0.25,
        "blob_top": torch.rand(n, _N_BLOBS, generator=g) < 0.33,
        "blob_center": _u(g, -1.0, 1.0, n, _N_BLOBS, 2),
        "blob_radius": _u(g, 0.08, 0.2, n, _N_BLOBS),
        "blob_color": torch.rand(n, _N_BLOBS, 3, generator=g),
        "noise_std": _u(g, 0.01, 0.04, n),
    }


def _contrasting_pair(n: int, g: torch.Generator) -> torch.Tensor:
    """``[n, 2, 3]`` texture colours, one lighter and one darker, in random order.

    Two independent random colours are often nearly equal, which hides the texture
    entirely; a texture that cannot be seen is label noise in disguise.
    """
    # overlapping ranges: most pairs differ clearly, a few barely (a hard, not a wrong, label)
    light = _u(g, 0.4, 1.0, n, 3)
    dark = _u(g, 0.0, 0.6, n, 3)
    swap = torch.rand(n, 1, generator=g) < 0.5
    return torch.stack([torch.where(swap, dark, light), torch.where(swap, light, dark)], dim=1)


def _coverage(signed: torch.Tensor, px: float) -> torch.Tensor:
    """Soft inside-mask from a signed distance (positive inside), one pixel of anti-aliasing."""
    return (signed / px + 0.5).clamp(0.0, 1.0)


def _paint(img: torch.Tensor, alpha: torch.Tensor, color: torch.Tensor) -> torch.Tensor:
    """Composite ``color`` ([n, 3] or [n, 3, S, S]) over ``img`` with coverage ``alpha`` [n, S, S]."""
    if color.dim() == 2:
        color = color[:, :, None, None]
    a = alpha[:, None]
    return img * (1 - a) + color * a


def _texture(dx, dy, angle, cycles, phase, gain, checks):
    """Two-colour mixing weight in [0, 1]: stripes, or checks where ``checks`` is true."""
    c, s = torch.cos(angle)[:, None, None], torch.sin(angle)[:, None, None]
    w = 2 * math.pi * cycles[:, None, None]
    a = torch.sin(w * (dx * c + dy * s) + phase[:, 0, None, None])
    b = torch.sin(w * (-dx * s + dy * c) + phase[:, 1, None, None])
    # the product of two crossed gratings is a checkerboard; 1.6 evens out its contrast with stripes
    pattern = torch.where(checks[:, None, None], 1.6 * a * b, a)
    return 0.5 + 0.5 * torch.tanh(gain[:, None, None] * pattern)


def _shape_radius(shape: torch.Tensor, theta: torch.Tensor, morph: torch.Tensor) -> torch.Tensor:
    """Boundary radius (in object radii) of each image's shape along direction ``theta``."""
    m = morph[:, None, None]
    disc = torch.ones_like(theta)
    # an equilateral triangle, scaled up so its area is not far below the disc's
    sector = 2 * math.pi / 3
    tri = 1.3 * math.cos(math.pi / 3) / torch.cos(torch.remainder(theta, sector) - math.pi / 3)
    # a superellipse: exponent 6 has visibly rounded corners, 12 is nearly sharp; much rounder
    # squares are indistinguishable from discs at 16x16
    p = 8.0 + 8.0 * m
    square = 0.92 * (torch.cos(theta).abs() ** p + torch.sin(theta).abs() ** p) ** (-1 / p)
    star = 1.0 + (0.3 + 0.15 * m) * torch.cos(5 * theta)
    table = torch.stack([disc, tri, square, star, disc])  # the ring's hole is cut separately
    return table.gather(0, shape[None, :, None, None].expand(1, *theta.shape))[0]


def _render(p: dict[str, torch.Tensor], size: int, g: torch.Generator) -> torch.Tensor:
    n = p["y"].shape[0]
    px = 2.0 / size
    coords = (torch.arange(size, dtype=torch.float32) + 0.5) * px - 1.0
    u, v = coords[None, None, :], coords[None, :, None]

    # background: a linear gradient between two colours plus smooth colour noise
    ramp = torch.cos(p["bg_angle"])[:, None, None] * u + torch.sin(p["bg_angle"])[:, None, None] * v
    ramp = (0.5 + 0.5 * ramp / math.sqrt(2))[:, None]
    c0, c1 = p["bg_colors"][:, 0, :, None, None], p["bg_colors"][:, 1, :, None, None]
    img = c0 + (c1 - c0) * ramp
    img = img + F.interpolate(p["bg_noise"], size=(size, size), mode="bicubic", align_corners=False)

    # the decoy lies under everything else
    ddx = u - p["decoy_center"][:, 0, None, None]
    ddy = v - p["decoy_center"][:, 1, None, None]
    dr = p["decoy_radius"]
    decoy_alpha = _coverage(dr[:, None, None] - torch.sqrt(ddx**2 + ddy**2), px) * p["decoy_on"][:, None, None]
    # measured in main-object radii, so the decoy's pattern has the same pixel period as the object's
    scale = p["radius"][:, None, None]
    weight = _texture(ddx / scale, ddy / scale, p["decoy_angle"],
                      p["tex_freq"], p["decoy_phase"], p["tex_gain"], p["decoy_checks"])[:, None]
    dcol = p["decoy_colors"][:, :, :, None, None]
    img = _paint(img, decoy_alpha, dcol[:, 0] * weight + dcol[:, 1] * (1 - weight))

    clutter = _clutter_layers(p, u, v, px)
    for alpha, color, on_top in clutter:
        img = _paint(img, alpha * ~on_top[:, None, None], color)

    # the main object, in its own rotated and stretched frame
    dx = u - p["center"][:, 0, None, None]
    dy = v - p["center"][:, 1, None, None]
    rot = p["rotation"][:, None, None]
    stretch = torch.exp(p["log_aspect"] / 2)[:, None, None]
    xr = (dx * torch.cos(rot) + dy * torch.sin(rot)) / stretch
    yr = (-dx * torch.sin(rot) + dy * torch.cos(rot)) * stretch
    rho, theta = torch.sqrt(xr**2 + yr**2), torch.atan2(yr, xr)
    shape = p["y"] // len(TEXTURES)
    radius = p["radius"][:, None, None]
    alpha = _coverage(radius * _shape_radius(shape, theta, p["morph"]) - rho, px)
    hole = radius * (0.42 + 0.2 * p["morph"][:, None, None])
    is_ring = (shape == SHAPES.index("ring"))[:, None, None]
    alpha = torch.where(is_ring, alpha * _coverage(rho - hole, px), alpha)
    checks = p["y"] % len(TEXTURES) == TEXTURES.index("checks")
    weight = _texture(xr / radius, yr / radius, p["tex_angle"], p["tex_freq"],
                      p["tex_phase"], p["tex_gain"], checks)[:, None]
    col = p["colors"][:, :, :, None, None]
    img = _paint(img, alpha, col[:, 0] * weight + col[:, 1] * (1 - weight))

    for alpha, color, on_top in clutter:
        img = _paint(img, alpha * on_top[:, None, None], color)

    img = img + torch.randn(n, 3, size, size, generator=g) * p["noise_std"][:, None, None, None]
    return (img.clamp(0.0, 1.0) * 255.0).round().to(torch.uint8)


def _clutter_layers(p: dict[str, torch.Tensor], u: torch.Tensor, v: torch.Tensor, px: float):
    """Yield ``(alpha, color, on_top)`` for every bar and blob slot (absent ones have alpha 0)."""
    layers = []
    for k in range(_N_BARS):
        dx = u - p["bar_center"][:, k, 0, None, None]
        dy = v - p["bar_center"][:, k, 1, None, None]
        c, s = torch.cos(p["bar_angle"][:, k])[:, None, None], torch.sin(p["bar_angle"][:, k])[:, None, None]
        along = (dx * c + dy * s).abs() - p["bar_half_len"][:, k, None, None]
        across = -dx * s + dy * c
        dist = torch.sqrt(along.clamp(min=0) ** 2 + across**2)
        alpha = _coverage(p["bar_half_width"][:, k, None, None] - dist, px) * p["bar_on"][:, k, None, None]
        layers.append((alpha, p["bar_color"][:, k], p["bar_top"][:, k]))
    for k in range(_N_BLOBS):
        dx = u - p["blob_center"][:, k, 0, None, None]
        dy = v - p["blob_center"][:, k, 1, None, None]
        dist = torch.sqrt(dx**2 + dy**2)
        alpha = _coverage(p["blob_radius"][:, k, None, None] - dist, px) * p["blob_on"][:, k, None, None]
        layers.append((alpha, p["blob_color"][:, k], p["blob_top"][:, k]))
    return layers
