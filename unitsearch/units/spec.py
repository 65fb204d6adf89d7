"""A residual unit as data: shortcut h, residual branch F, post-addition f.

The paper writes a unit as ``y_l = h(x_l) + F(x_l)`` and ``x_{l+1} = f(y_l)``
(Eqs. 1-2). A :class:`UnitSpec` holds exactly those three choices, is frozen
and hashable, and has one canonical text form::

    h=identity;branch=bn-relu-conv-bn-relu-conv;f=id

``UnitSpec.parse(spec.form) == spec`` always holds, and two specs that build
the same network have the same form (``scale(1)`` is ``identity``, ``relu-relu``
is ``relu``, ``dropout(0)`` is ``identity``).
"""

from __future__ import annotations

import enum
import math
import re
from dataclasses import dataclass

from ..errors import UserError

__all__ = ["Op", "ShortcutKind", "Shortcut", "UnitSpec", "SpecError"]


class SpecError(UserError, ValueError):
    """A unit spec or its text form is invalid; the message says what is allowed."""


class Op(str, enum.Enum):
    """An operator inside the residual branch or after the addition."""

    BN = "bn"  # batch normalisation
    RELU = "relu"  # rectified linear unit
    CONV = "conv"  # 3x3 convolution (1x1 reduce / 3x3 / 1x1 expand in a bottleneck)


class ShortcutKind(str, enum.Enum):
    """The shortcut function h of Table 1."""

    IDENTITY = "identity"  # h(x) = x
    SCALE = "scale"  # h(x) = lambda * x, optionally F scaled by its own constant too
    EXCLUSIVE_GATE = "exclusive_gate"  # (1 - g) * x + g * F(x), g = sigmoid(conv1x1(x) + b_g)
    SHORTCUT_GATE = "shortcut_gate"  # (1 - g) * x + F(x)
    CONV1X1 = "conv1x1"  # a 1x1 convolution on every unit's shortcut
    DROPOUT = "dropout"  # Bernoulli mask with drop probability p on the shortcut


# How many numbers each shortcut kind takes, in its text form ``kind(a,b)``.
_ARITY = {
    ShortcutKind.IDENTITY: (0, 0),
    ShortcutKind.SCALE: (1, 2),  # lambda on h, optional lambda on F
    ShortcutKind.EXCLUSIVE_GATE: (1, 1),  # b_g
    ShortcutKind.SHORTCUT_GATE: (1, 1),  # b_g
    ShortcutKind.CONV1X1: (0, 0),
    ShortcutKind.DROPOUT: (1, 1),  # p
}

_ALLOWED_H = ", ".join(
    ["identity", "scale(lambda[,lambda_F])", "exclusive_gate(b_g)", "shortcut_gate(b_g)", "conv1x1", "dropout(p)"]
)
_FLOAT32_MAX = 3.4028234663852886e38
_H_RE = re.compile(r"^([a-z_0-9]+)(?:\(([^()]*)\))?$")


def _num(x: float) -> str:
    """The shortest text that reads back as the same number: 0.5, -6, 1e-05, 0.3359375."""
    x = float(x)
    return str(int(x)) if x.is_integer() and abs(x) < 1e15 else repr(x)


@dataclass(frozen=True)
class Shortcut:
    """The shortcut h with its constants.

    Args:
        kind: Which shortcut.
        params: Its numbers: ``(lambda,)`` or ``(lambda, lambda_F)`` for scale,
            ``(b_g,)`` for the gates, ``(p,)`` for dropout, ``()`` otherwise.
    """

    kind: ShortcutKind
    params: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        kind = ShortcutKind(self.kind)
        params = tuple(float(p) for p in self.params)
        lo, hi = _ARITY[kind]
        if not lo <= len(params) <= hi:
            raise SpecError(f"shortcut {kind.value!r} takes {lo}..{hi} numbers, got {len(params)}; allowed: {_ALLOWED_H}")
        if any(not math.isfinite(p) or abs(p) > _FLOAT32_MAX for p in params):
            # A constant beyond float32 becomes inf in the network's tensors (a gate's bias, a scale).
            shown = ", ".join(f"{p:g}" for p in params)
            raise SpecError(f"shortcut {kind.value!r} needs finite numbers within ±3.4e38 (float32), got ({shown})")
        if kind is ShortcutKind.DROPOUT and not 0.0 <= params[0] < 1.0:
            raise SpecError(f"dropout p must be in [0, 1), got {params[0]}")
        # Normalise so that equal networks have equal specs.
        if kind is ShortcutKind.SCALE and len(params) == 2 and params[1] == 1.0:
            params = params[:1]
        if (kind is ShortcutKind.SCALE and params == (1.0,)) or (kind is ShortcutKind.DROPOUT and params == (0.0,)):
            kind, params = ShortcutKind.IDENTITY, ()
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "params", params)

    @property
    def form(self) -> str:
        if not self.params:
            return self.kind.value
        return f"{self.kind.value}({','.join(_num(p) for p in self.params)})"

    @property
    def branch_scale(self) -> float:
        """The constant on F: 0.5 in Table 1's ``0.5/0.5`` row, else 1."""
        return self.params[1] if self.kind is ShortcutKind.SCALE and len(self.params) == 2 else 1.0

    @classmethod
    def parse(cls, text: str) -> Shortcut:
        m = _H_RE.match(text.strip().lower())
        if not m:
            raise SpecError(f"bad shortcut {text!r}; allowed: {_ALLOWED_H}")
        name, args = m.groups()
        try:
            kind = ShortcutKind(name)
        except ValueError:
            raise SpecError(f"unknown shortcut {name!r}; allowed: {_ALLOWED_H}") from None
        try:
            params = tuple(float(a) for a in args.split(",")) if args else ()
        except ValueError:
            raise SpecError(f"bad numbers in shortcut {text!r}; allowed: {_ALLOWED_H}") from None
        return cls(kind, params)


def _parse_ops(text: str, allowed: tuple[Op, ...], where: str) -> tuple[Op, ...]:
    text = text.strip().lower()
    if text in ("", "id", "identity", "none", "-"):
        return ()
    names = ", ".join(o.value for o in allowed)
    ops = []
    for name in re.split(r"[-,\s>]+", text):
        try:
            op = Op(name)
        except ValueError:
            raise SpecError(f"unknown op {name!r} in {where}; allowed: {names}") from None
        if op not in allowed:
            raise SpecError(f"op {name!r} is not allowed in {where}; allowed: {names}")
        ops.append(op)
    return tuple(ops)


def _collapse_relu(ops: tuple[Op, ...]) -> tuple[Op, ...]:
    """ReLU is idempotent: ``relu-relu`` builds the same network as ``relu``."""
    out: list[Op] = []
    for op in ops:
        if not (op is Op.RELU and out and out[-1] is Op.RELU):
            out.append(op)
    return tuple(out)


@dataclass(frozen=True)
class UnitSpec:
    """One residual-unit design: ``y = h(x) + F(x)``, ``x_next = f(y)``.

    Args:
        shortcut: The shortcut h.
        branch: The ordered ops of F; two ``conv`` for a basic unit, one for the
            "1-layer skip" units of Table 3. A bottleneck build repeats the ops
            between the two convs around its third conv (see :meth:`expanded`),
            or takes a branch written with three convs.
        post: The ordered ops of f after the addition; empty is identity.
    """

    shortcut: Shortcut
    branch: tuple[Op, ...]
    post: tuple[Op, ...] = ()

    def __post_init__(self) -> None:
        branch = _collapse_relu(tuple(Op(o) for o in self.branch))
        post = _collapse_relu(tuple(Op(o) for o in self.post))
        n_conv = branch.count(Op.CONV)
        if n_conv not in (1, 2, 3):
            raise SpecError(
                f"branch must hold 2 convs (basic), 3 (bottleneck) or 1 (1-layer skip), got {n_conv} in {'-'.join(o.value for o in branch)!r}"
            )
        if Op.CONV in post:
            raise SpecError("op 'conv' is not allowed in f; allowed: bn, relu")
        object.__setattr__(self, "branch", branch)
        object.__setattr__(self, "post", post)

    # --- text form -------------------------------------------------------
    @property
    def form(self) -> str:
        """The canonical text form, e.g. ``h=identity;branch=conv-bn-relu-conv-bn;f=relu``."""
        return f"h={self.h_form};branch={self.branch_form};f={self.f_form}"

    @property
    def h_form(self) -> str:
        """The shortcut's part of the form: ``identity``, ``exclusive_gate(-6)`` ..."""
        return self.shortcut.form

    @property
    def branch_form(self) -> str:
        """The branch's part of the form: its ops joined by ``-``."""
        return "-".join(o.value for o in self.branch)

    @property
    def f_form(self) -> str:
        """The post-addition part of the form: its ops joined by ``-``, ``id`` for none."""
        return "-".join(o.value for o in self.post) or "id"

    def __str__(self) -> str:
        return self.form

    @classmethod
    def parse(cls, text: str) -> UnitSpec:
        """Parse the canonical form (keys in any order; ``f`` may be omitted)."""
        parts: dict[str, str] = {}
        for item in text.strip().split(";"):
            if not item.strip():
                continue
            key, sep, value = item.partition("=")
            key = key.strip().lower()
            if not sep or key not in ("h", "branch", "f"):
                raise SpecError(f"bad unit form {text!r}: expected 'h=...;branch=...;f=...'")
            parts[key] = value
        if "h" not in parts or "branch" not in parts:
            raise SpecError(f"bad unit form {text!r}: 'h' and 'branch' are required")
        return cls(
            Shortcut.parse(parts["h"]),
            _parse_ops(parts["branch"], (Op.BN, Op.RELU, Op.CONV), "branch"),
            _parse_ops(parts.get("f", ""), (Op.BN, Op.RELU), "f"),
        )

    # --- structure -------------------------------------------------------
    @property
    def n_convs(self) -> int:
        """Convs in the branch as written: 1 (1-layer skip), 2 (basic) or 3 (bottleneck)."""
        return self.branch.count(Op.CONV)

    def segments(self) -> list[tuple[Op, ...]]:
        """The non-conv ops before, between and after the convs: ``s0 conv s1 conv s2``."""
        segs: list[list[Op]] = [[]]
        for op in self.branch:
            if op is Op.CONV:
                segs.append([])
            else:
                segs[-1].append(op)
        return [tuple(s) for s in segs]

    @property
    def preact(self) -> tuple[Op, ...]:
        """The ops before the first conv: the unit's pre-activation (empty for post-activation units)."""
        return self.segments()[0]

    def expanded(self, bottleneck: bool) -> UnitSpec:
        """This spec with as many convs as the unit type needs.

        A bottleneck (1x1, 3x3, 1x1) uses the same placements around each conv
        as the basic unit (paper Fig. 4 applies to both), so ``s0 conv s1 conv s2``
        becomes ``s0 conv s1 conv s1 conv s2``.
        """
        want = 3 if bottleneck else 2
        segs = self.segments()
        if self.n_convs == 1:
            # Table 3's 1-layer skip is a basic-unit design: there is no middle placement to repeat.
            if bottleneck:
                raise SpecError(f"branch {self.form!r} has 1 conv: it builds only basic units; allowed: --basic")
            return self
        if len(segs) - 1 == want:
            return self
        if want == 2:
            raise SpecError(f"branch {self.form!r} has 3 convs: it builds only bottleneck units")
        s0, s1, s2 = segs
        branch = (*s0, Op.CONV, *s1, Op.CONV, *s1, Op.CONV, *s2)
        return UnitSpec(self.shortcut, branch, self.post)
