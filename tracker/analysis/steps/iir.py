"""Butterworth design and second-order-section filtering in numpy (the kernels of `filters`).

scipy.signal does all of this, but importing it (it pulls in scipy.stats) is a large share of
a whole `tracker analyze` run (BENCHMARKS.md), and the analysis needs only second-order
Butterworth sections. tests/analysis/test_steps_iir.py checks every function here against
scipy.signal's (design to 1e-12, filtering to 1e-10 of the signal).

* **Design** (`butter_sos`): the analog prototype's poles, pre-warped and transformed
  (low-, high- or band-pass), the bilinear transform, and the poles paired into sections as
  scipy pairs them ("nearest": the pair closest to the unit circle last, each with the zeros
  nearest to it).
* **Filtering without state** (`sosfilt_zero`): each section split into partial fractions, a
  constant plus first-order recursions y[n] = x[n] + p y[n - 1] with complex p. A recursion is
  evaluated in blocks short enough that p^-B stays below 1e3 (a scaled cumulative sum inside
  each block), the blocks joined by iterating their carries (p^B is at most 1e-3, so a few
  passes reach machine precision). Fully vectorised.
* **Steady start**: a filter at rest for a constant input c, fed x, outputs c H(1) plus the
  response at rest to x - c; `sosfilt` and `sosfiltfilt` start that way (as scipy's
  `sosfilt_zi` does).
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

_MAX_GROWTH = 1e3  # |p|^-B inside a block


def butter_sos(
    order: int, cutoff_hz: float | tuple[float, float], rate_hz: float, btype: str
) -> np.ndarray:
    """(sections, 6) second-order sections [b0, b1, b2, 1, a1, a2] of a digital Butterworth
    filter of `order` with `cutoff_hz` (a pair for "bandpass") at `rate_hz` (a copy: designs
    are cached, the same few are asked for again and again)."""
    cutoff = (
        tuple(float(c) for c in cutoff_hz)
        if isinstance(cutoff_hz, tuple | list)
        else float(cutoff_hz)
    )
    return _design(int(order), cutoff, float(rate_hz), str(btype)).copy()


@lru_cache(maxsize=64)
def _design(order: int, cutoff: float | tuple[float, ...], fs: float, btype: str) -> np.ndarray:
    if btype not in ("lowpass", "highpass", "bandpass"):
        raise ValueError(f"btype must be lowpass, highpass or bandpass; got {btype!r}")
    edges = np.atleast_1d(np.asarray(cutoff, dtype=float))
    if np.any(edges <= 0) or np.any(edges >= fs / 2):
        raise ValueError(f"cut-off {cutoff} Hz must lie between 0 and half of {fs} Hz")
    # analog prototype (scipy's buttap): N poles on the left half of the unit circle
    m = np.arange(-order + 1, order, 2)
    p = -np.exp(1j * np.pi * m / (2 * order))
    z = np.zeros(0, dtype=complex)
    k = 1.0
    warped = 2.0 * fs * np.tan(np.pi * edges / fs)  # pre-warped to the analog frequencies
    if btype == "lowpass":
        p, k = p * warped[0], k * warped[0] ** order
    elif btype == "highpass":
        k = k * float(np.real(1.0 / np.prod(-p)))
        p = warped[0] / p
        z = np.zeros(order, dtype=complex)
    else:
        wo, bw = math.sqrt(warped[0] * warped[1]), warped[1] - warped[0]
        lp = p * bw / 2.0
        root = np.sqrt(lp * lp - wo * wo)
        p = np.concatenate([lp + root, lp - root])
        z = np.zeros(order, dtype=complex)
        k = k * bw**order
    # bilinear transform
    fs2 = 2.0 * fs
    degree = len(p) - len(z)
    k = k * float(np.real(np.prod(fs2 - z) / np.prod(fs2 - p)))
    zd = np.concatenate([(fs2 + z) / (fs2 - z), -np.ones(degree)])
    pd = (fs2 + p) / (fs2 - p)
    return _pair(zd, pd, k)


def _pair(z: np.ndarray, p: np.ndarray, k: float) -> np.ndarray:
    """Poles and zeros into second-order sections as scipy's "nearest" pairing does: the pole
    pairs from the one closest to the unit circle on, each taking the two zeros nearest to it
    (a real pole of an odd order takes one: a first-order section); that closest pair's section
    ends the cascade, and the gain goes in the first section."""
    complex_poles = [q for q in p if q.imag > 1e-12]
    real_poles = [q for q in p if abs(q.imag) <= 1e-12]
    groups = [[q, np.conj(q)] for q in complex_poles] + [[q] for q in real_poles]
    groups.sort(key=lambda g: abs(1.0 - abs(g[0])))
    zeros = list(z)
    sections = []
    for g in groups:
        q0 = complex(g[0])
        zeros.sort(key=lambda w: abs(w - q0))
        zz, zeros = zeros[: len(g)], zeros[len(g) :]
        a = np.real(np.poly(g))
        b = np.real(np.poly(zz))
        sections.append(np.concatenate([np.pad(b, (0, 3 - len(b))), np.pad(a, (0, 3 - len(a)))]))
    sos = np.array(sections[::-1])
    sos[0, :3] *= k
    return sos


def sosfilt_zi(sos: np.ndarray) -> np.ndarray:
    """(sections, 2) direct-form-II-transposed state of each section at rest for a constant
    input of 1 to the cascade (scipy's `sosfilt_zi`)."""
    zi = np.empty((len(sos), 2))
    scale = 1.0
    for s, row in enumerate(np.asarray(sos, dtype=float)):
        b, a = row[:3], row[3:]
        i_minus_a = np.array([[1.0 + a[1], -1.0], [a[2], 1.0]])
        zi[s] = scale * np.linalg.solve(i_minus_a, b[1:] - a[1:] * b[0])
        scale *= b.sum() / a.sum()
    return zi


def dc_gain(sos: np.ndarray) -> float:
    """The cascade's gain for a constant input, H(z = 1)."""
    sos = np.asarray(sos, dtype=float)
    return float(np.prod(sos[:, :3].sum(axis=1) / sos[:, 3:].sum(axis=1)))


def sosfilt_zero(sos: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Causal filtering of the 1-d `x` from rest (zero state)."""
    y = np.asarray(x, dtype=float)
    for row in np.asarray(sos, dtype=float):
        y = _section(row, y)
    return y


def sosfilt_steady(sos: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Causal filtering of `x` starting in the steady state for a constant input of x[0]."""
    x = np.asarray(x, dtype=float)
    if len(x) == 0:
        return x.copy()
    c = float(x[0])
    return sosfilt_zero(sos, x - c) + c * dc_gain(sos)


def default_padlen(sos: np.ndarray) -> int:
    """scipy's default extension for `sosfiltfilt`: three times the number of coefficients."""
    sos = np.asarray(sos)
    trailing = min(int((sos[:, 2] == 0).sum()), int((sos[:, 5] == 0).sum()))
    return 3 * (2 * len(sos) + 1 - trailing)


def sosfiltfilt(sos: np.ndarray, x: np.ndarray, padlen: int | None = None) -> np.ndarray:
    """Forward-backward filtering of the 1-d `x` with odd extensions of `padlen` samples at
    both ends (default `default_padlen`), each pass starting in its steady state (scipy's
    `sosfiltfilt`)."""
    x = np.asarray(x, dtype=float)
    padlen = default_padlen(sos) if padlen is None else int(padlen)
    if len(x) <= padlen:
        raise ValueError(f"the signal ({len(x)} samples) must be longer than padlen ({padlen})")
    if padlen > 0:
        ext = np.concatenate(
            [2 * x[0] - x[padlen:0:-1], x, 2 * x[-1] - x[-2 : -padlen - 2 : -1]]
        )
    else:
        ext = x
    y = sosfilt_steady(sos, ext)
    y = sosfilt_steady(sos, y[::-1])[::-1]
    return y[padlen : len(y) - padlen] if padlen > 0 else y


def first_order_recursion(x: np.ndarray, p: float) -> np.ndarray:
    """y[n] = x[n] + p y[n - 1] from y[-1] = 0 along the first axis of the real `x` ((n,) or
    (n, k)) for a real pole 0 <= p < 1: a one-pole filter from rest, vectorised in real
    arithmetic as `_first_order` does it (scaled cumulative sums in blocks, carries joined)."""
    x = np.asarray(x, dtype=float)
    n = len(x)
    if n == 0 or p < 1e-12:
        return x.copy()
    if not 0.0 <= p < 1.0:
        raise ValueError("first_order_recursion needs a pole in [0, 1)")
    flat = x.reshape(n, -1)
    k = flat.shape[1]
    block = int(min(n, max(1, math.floor(math.log(_MAX_GROWTH) / -math.log(p)))))
    nb = -(-n // block)
    padded = np.zeros((nb * block, k))
    padded[:n] = flat
    xb = padded.reshape(nb, block, k)
    j = np.arange(block, dtype=float)
    up = (p**j)[None, :, None]
    local = up * np.cumsum(xb * (p ** -j)[None, :, None], axis=1)
    ends = local[:, -1, :].copy()
    pb = p**block
    carry = ends.copy()
    if nb > 1 and pb > 0:
        passes = int(math.ceil(math.log(1e-17) / math.log(pb)))
        for _ in range(min(nb, max(1, passes))):
            carry[1:] = ends[1:] + pb * carry[:-1]
    start = np.concatenate([np.zeros((1, k)), carry[:-1]])
    y = local + start[:, None, :] * (up * p)
    return y.reshape(nb * block, k)[:n].reshape(x.shape)


def _section(row: np.ndarray, x: np.ndarray) -> np.ndarray:
    """One biquad from rest: H(z) = b(z) / a(z) = c + sum of r / (1 - p z^-1) (partial fractions)."""
    b0, b1, b2, a0, a1, a2 = row / row[3]
    if a2 == 0.0:  # one pole: (b0 + b1 w + b2 w^2) / (1 + a1 w) = q0 + q1 w + r / (1 + a1 w)
        if a1 == 0.0:
            return b0 * x + b1 * _delay(x, 1) + b2 * _delay(x, 2)
        q1 = b2 / a1
        q0 = (b1 - q1) / a1
        r = b0 - q0
        return q0 * x + q1 * _delay(x, 1) + r * _first_order(x, -a1).real
    direct = b2 / a2
    c0, c1 = b0 - direct, b1 - a1 * direct
    roots = np.roots([1.0, a1, a2])  # z^2 + a1 z + a2: the poles
    p1, p2 = complex(roots[0]), complex(roots[1])
    r1 = (c0 * p1 + c1) / (p1 - p2)
    r2 = (c0 * p2 + c1) / (p2 - p1)
    if abs(p1.imag) > 0.0:  # a conjugate pair: twice the real part of one
        return direct * x + 2.0 * np.real(r1 * _first_order(x, p1))
    return direct * x + np.real(r1 * _first_order(x, p1)) + np.real(r2 * _first_order(x, p2))


def _delay(x: np.ndarray, k: int) -> np.ndarray:
    out = np.zeros_like(x)
    out[k:] = x[: len(x) - k]
    return out


def _first_order(x: np.ndarray, p: complex) -> np.ndarray:
    """y[n] = x[n] + p y[n - 1] from y[-1] = 0, for |p| < 1 (see the module docstring). Worked
    in one buffer, in place (the operations of the plain version, in its order: the same
    values to the bit, without its temporaries the size of the signal)."""
    n = len(x)
    if n == 0:
        return np.zeros(0, dtype=complex)
    mag = abs(p)
    if mag < 1e-12:
        return x.astype(complex)
    if mag >= 1.0:
        raise ValueError("unstable filter: a pole on or outside the unit circle")
    block = int(min(n, max(1, math.floor(math.log(_MAX_GROWTH) / -math.log(mag)))))
    nb = -(-n // block)
    buf = np.zeros((nb, block), dtype=complex)
    buf.reshape(-1)[:n] = x
    k = np.arange(block)
    up = p**k  # p^k, k = 0 .. B - 1
    buf *= p ** -k.astype(float)
    np.cumsum(buf, axis=1, out=buf)
    np.multiply(up, buf, out=buf)  # zero state within each block (up * buf, in that order)
    ends = buf[:, -1].copy()
    pb = p**block
    carry = ends.copy()  # y at the end of each block
    if nb > 1:
        passes = int(math.ceil(math.log(1e-17) / math.log(max(abs(pb), 1e-300)))) if abs(pb) > 0 else 1
        for _ in range(min(nb, max(1, passes))):
            carry[1:] = ends[1:] + pb * carry[:-1]
    start = np.concatenate([[0.0], carry[:-1]])  # y just before each block
    buf += start[:, None] * (up * p)[None, :]
    return buf.reshape(-1)[:n]
