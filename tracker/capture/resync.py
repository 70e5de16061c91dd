"""Finding the next intact record after damage, in time linear in the bytes searched.

After damage the reader looks for the next place where a record starts: a sync marker `A5 5A`
followed by a known type and a length that fits the file, whose CRC checks out. Checking each such
candidate with its own CRC costs its claimed length, so garbage holding many sync markers with
plausible lengths (random bytes have one every 64 kB; a crafted file one every 7 bytes) would cost
the square of the file's size. Here every candidate costs O(1) after one pass over the bytes:

- CRC-32 is linear, so for prefix CRCs `Q[i] = crc32(data[base:i])`,
  `crc32(data[a:e]) = Q[e] ^ shift(Q[a], e - a)`, where `shift(c, n)` multiplies by x^(8n) modulo
  the CRC polynomial (zlib's `crc32_combine`); `shift` is a product of at most 26 fixed linear maps
  (one per bit of n), each applied with four 256-entry tables, vectorised over all candidates;
- a record is intact exactly when the CRC over everything after its sync marker, its stored CRC
  included, is the constant `CRC_RESIDUE`;
- candidates are found with numpy, a window at a time, and only those ending inside the window are
  checked; the window doubles until an intact record is found, so the bytes searched are at most
  twice the distance to it (plus a few kB).

The common case (a few damaged bytes, the next record a few hundred bytes on) is settled by a plain
scan of the first few kB, which checks only candidates whose CRC costs little.
"""

from __future__ import annotations

import zlib
from itertools import accumulate

import numpy as np

from tracker.capture import format as fmt

_POLY = 0xEDB88320
_BITS = 26
"""Record lengths (with framing) stay below 2**26 bytes (`MAX_PAYLOAD` is 16 MiB)."""
_HEAD = fmt.RECORD_HEAD.size
_KNOWN = np.zeros(256, bool)
_KNOWN[list(fmt.KNOWN_TYPES)] = True
_QUICK_BYTES = 4096
"""Bytes after the damage searched by the plain scan before the vectorised one takes over."""
_QUICK_HITS = 32
_QUICK_CRC_BYTES = 64 * 1024
_DIRECT_BYTES = 4 * 1024 * 1024
"""Candidates whose CRCs add up to less than this are checked one by one (zlib is fast)."""
"""CRC bytes the plain scan may spend in all; longer candidates wait for the vectorised check."""


def _multmodp(a: int, b: int) -> int:
    """a(x) b(x) modulo the CRC-32 polynomial, in zlib's reflected bit order."""
    m, p = 1 << 31, 0
    while True:
        if a & m:
            p ^= b
            if a & (m - 1) == 0:
                return p
        m >>= 1
        b = (b >> 1) ^ _POLY if b & 1 else b >> 1


def _x_pow_8n(n: int) -> int:
    """x^(8n) modulo the polynomial."""
    p, sq = 1 << 31, 1 << 23  # x^0, and x^8 (a byte) in reflected order
    while n:
        if n & 1:
            p = _multmodp(sq, p)
        sq = _multmodp(sq, sq)
        n >>= 1
    return p


def crc32_shift(crc: int, n: int) -> int:
    """`crc` advanced over n bytes as `crc32_combine(crc, 0, n)`: crc32(A + B) is
    `crc32_shift(crc32(A), len(B)) ^ crc32(B)`."""
    return _multmodp(_x_pow_8n(n), crc)


_TABLES: np.ndarray | None = None
_LEVELS = 4
"""n < 2**26 has 4 bytes (the last one 2 bits): one table set per byte of n."""


def _times_many(a: np.ndarray, b: int) -> np.ndarray:
    """`_multmodp(a_i, b)` for an array of multipliers (uint32), vectorised over the 32 bits."""
    out = np.zeros(a.shape, np.uint32)
    for bit in range(31, -1, -1):
        out ^= np.where(a >> np.uint32(bit) & np.uint32(1), np.uint32(b), np.uint32(0))
        b = (b >> 1) ^ _POLY if b & 1 else b >> 1
    return out


def _tables() -> np.ndarray:
    """[byte L of n, its value v, byte j of the CRC, byte value] -> uint32: the linear map
    "times x^(8 * v * 256**L)" applied to one byte of a CRC, so a shift is 4 x 4 lookups."""
    global _TABLES
    if _TABLES is None:
        values = np.arange(256)
        tables = np.zeros((_LEVELS, 256, 4, 256), np.uint32)
        for level in range(_LEVELS):
            step = _x_pow_8n(256**level)  # x^(8 * 256**L)
            powers = [1 << 31]
            for _ in range(255):
                powers.append(_multmodp(step, powers[-1]))
            multipliers = np.array(powers, np.uint32)  # x^(8 * v * 256**L), v = 0..255
            for bit in range(32):  # images of the basis CRC 1 << bit under every multiplier
                image = _times_many(multipliers, 1 << bit)
                j, t = divmod(bit, 8)
                tables[level, :, j, :] ^= np.where(values >> t & 1, image[:, None], 0).astype(np.uint32)
        _TABLES = tables
    return _TABLES


def shift_many(crc: np.ndarray, n: np.ndarray) -> np.ndarray:
    """`crc32_shift` element-wise (uint32 CRCs, int64 byte counts below 2**26)."""
    tables = _tables()
    out = crc.astype(np.uint32)
    n = n.astype(np.int64)
    for level in range(_LEVELS):
        v = (n >> (8 * level)) & 0xFF
        if not v.any():
            continue  # shifting by 0 at this byte of n: the identity
        t = tables[level]
        out = t[v, 0, out & 0xFF] ^ t[v, 1, (out >> 8) & 0xFF] ^ t[v, 2, (out >> 16) & 0xFF] ^ t[v, 3, out >> 24]
    return out


def _candidates(buf: np.ndarray, lo: int, hi: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """(starts, ends) of the places in [lo, hi) that could start a record: sync marker, known
    type, a length within the limit whose record fits in the file."""
    stop = min(hi + 1, size)
    if stop - lo < 2:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    seg = buf[lo:stop]
    p = lo + np.flatnonzero((seg[:-1] == 0xA5) & (seg[1:] == 0x5A)).astype(np.int64)
    p = p[p + fmt.RECORD_OVERHEAD <= size]
    p = p[_KNOWN[buf[p + 2]]]
    length = (
        buf[p + 3].astype(np.int64)
        | buf[p + 4].astype(np.int64) << 8
        | buf[p + 5].astype(np.int64) << 16
        | buf[p + 6].astype(np.int64) << 24
    )
    end = p + fmt.RECORD_OVERHEAD + length
    ok = (length <= fmt.MAX_PAYLOAD) & (end <= size)
    return p[ok], end[ok]


_CHUNK = 256
"""Spacing of the running CRC's checkpoints: every other prefix CRC starts from the nearest one."""
_SLAB_CHUNKS = 1 << 15
"""Chunks whose byte-by-byte CRC states are held at once (8 MiB of file, 32 MiB of states)."""
_BYTE_TABLE: np.ndarray | None = None


def _byte_table() -> np.ndarray:
    """zlib's CRC-32 table: the register after one byte is T[(r ^ byte) & 0xFF] ^ (r >> 8)."""
    global _BYTE_TABLE
    if _BYTE_TABLE is None:
        r = np.arange(256, dtype=np.uint32)
        for _ in range(8):
            r = np.where(r & 1, (r >> 1) ^ np.uint32(_POLY), r >> 1).astype(np.uint32)
        _BYTE_TABLE = r
    return _BYTE_TABLE


def _chunk_crcs(buf: np.ndarray, first: int, chunks: int) -> np.ndarray:
    """[j, c] -> crc32 of the first j bytes of chunk c (chunks of `_CHUNK` bytes from `first`),
    for all chunks at once: one vectorised table step per byte position."""
    table = _byte_table()
    region = np.zeros(chunks * _CHUNK, np.uint8)
    got = buf[first : first + chunks * _CHUNK]
    region[: got.size] = got
    columns = region.reshape(chunks, _CHUNK).T
    states = np.empty((_CHUNK + 1, chunks), np.uint32)
    reg = np.full(chunks, 0xFFFFFFFF, np.uint32)
    states[0] = reg
    for j in range(_CHUNK):
        reg = table[(reg ^ columns[j]) & 0xFF] ^ (reg >> 8)
        states[j + 1] = reg
    return ~states


def _prefix_at(data: bytes, buf: np.ndarray, base: int, points: np.ndarray) -> np.ndarray:
    """`crc32(data[base:x])` for every x in `points` (any order, all >= base).

    A running CRC gives a checkpoint every `_CHUNK` bytes; a point's CRC is its checkpoint's
    shifted over the bytes after it, xor the CRC of those bytes, which `_chunk_crcs` has for
    every byte of every chunk at once. No Python work per point."""
    view = memoryview(data)
    top = int(points.max())
    cuts = list(range(base, top + 1, _CHUNK))
    pieces = map(view.__getitem__, map(slice, cuts, [*cuts[1:], top]))
    checkpoints = np.fromiter(
        accumulate(pieces, lambda c, piece: zlib.crc32(piece, c), initial=0), np.uint32, count=len(cuts) + 1
    )
    k = (points - base) // _CHUNK
    offset = points - base - k * _CHUNK
    tail = np.empty(len(points), np.uint32)
    for lo in range(0, len(cuts), _SLAB_CHUNKS):
        sel = np.flatnonzero((k >= lo) & (k < lo + _SLAB_CHUNKS))
        if sel.size:
            states = _chunk_crcs(buf, base + lo * _CHUNK, min(_SLAB_CHUNKS, len(cuts) - lo))
            tail[sel] = states[offset[sel], k[sel] - lo]
    return shift_many(checkpoints[k], offset) ^ tail


def _intact(data: bytes, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Which candidates are intact records (see the module docstring): one by one when that
    costs little, vectorised otherwise."""
    a = starts + 2  # the CRC covers everything after the sync marker
    if int((ends - a).sum()) <= _DIRECT_BYTES or len(a) <= 4:
        view = memoryview(data)
        return np.array([zlib.crc32(view[x:y]) == fmt.CRC_RESIDUE for x, y in zip(a.tolist(), ends.tolist(), strict=True)], bool)
    buf = np.frombuffer(data, np.uint8)
    q = _prefix_at(data, buf, int(a.min()), np.concatenate((a, ends)))
    q_a, q_e = q[: len(a)], q[len(a) :]
    return (q_e ^ shift_many(q_a, ends - a)) == fmt.CRC_RESIDUE


def intact_starts(data: bytes, buf: np.ndarray, start: int, size: int) -> np.ndarray:
    """Sorted starts of every intact record in [start, size), vectorised, in one pass."""
    starts, ends = _candidates(buf, start, size, size)
    if not starts.size:
        return starts
    return starts[_intact(data, starts, ends)]


def _quick(data: bytes, start: int, size: int) -> int | None:
    """The plain scan of the first few kB: the next intact record's start, -1 when there is
    certainly none in reach, None when the vectorised search must decide."""
    view = memoryview(data)
    limit = min(size, start + _QUICK_BYTES)
    spent = hits = 0
    pos = start
    deferred = False
    while True:
        pos = data.find(fmt.SYNC, pos, limit)
        if pos < 0:
            return None if deferred or limit < size else -1
        hits += 1
        if hits > _QUICK_HITS:
            return None
        if pos + fmt.RECORD_OVERHEAD <= size:
            _, rtype, length, _ = fmt.RECORD_HEAD.unpack_from(data, pos)
            end = pos + fmt.RECORD_OVERHEAD + length
            if rtype in fmt.KNOWN_TYPES and length <= fmt.MAX_PAYLOAD and end <= size:
                if spent + end - pos > _QUICK_CRC_BYTES:
                    deferred = True
                else:
                    spent += end - pos
                    if zlib.crc32(view[pos + 2 : end]) == fmt.CRC_RESIDUE:
                        return pos
        pos += 1


def next_record(data: bytes, buf: np.ndarray, start: int, size: int) -> int:
    """Start of the first intact record at or after `start`, or -1 when there is none.

    When several candidates check out, the earliest-starting one whose record ends within the
    bytes searched wins: records of a real file do not overlap, so one that overlaps a later
    intact record cannot be real (its CRC matched by chance, 1 in 2**32)."""
    found = _quick(data, start, size)
    if found is not None:
        return found
    checked_to = start
    window = 2 * _QUICK_BYTES
    while True:
        limit = min(size, start + window)
        starts, ends = _candidates(buf, start, limit, size)
        new = (ends > checked_to) & (ends <= limit)
        starts, ends = starts[new], ends[new]
        if starts.size:
            ok = _intact(data, starts, ends)
            if ok.any():
                return int(starts[ok].min())
        if limit >= size:
            return -1
        checked_to = limit
        window *= 2
