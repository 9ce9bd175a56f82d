"""Message content: windows over one pre-generated buffer of neutral words, as Arrow strings.

A per-row Python string loop costs 7-23 s per 5M messages (DESIGN.md section 9); here content is
built without touching a Python string. One buffer of neutral words separated by single spaces
(`BUFFER_BYTES`, drawn once per process from a fixed seed, so it is the same in every process and
every run) is shared by all messages. Each message is a run of whole words: consecutive messages
take consecutive windows of the buffer whose boundaries are snapped to word starts, so their
lengths follow the drawn lengths to within about one word, and a chunk of messages is an Arrow
StringArray whose offsets point into the shared buffer (zero copy). Each chunk starts at a random
word of the buffer drawn from the shard's generator, so the seed decides which text a message
gets. The separator that ends every window is cut off by one C++ kernel (`binary_slice`), so no
message starts or ends with a space.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from synth_pipeline.privacy.neutral_words import NEUTRAL_WORDS, WORD_SEPARATOR

BUFFER_BYTES = 8 << 20
MAX_MESSAGE_CHARS = 1_000_000  # longer drawn lengths are cut here (a chunk must fit in half the buffer)
WORD_BUFFER_SEED = 20_260_105  # fixed: the buffer is a constant of the generator, not of a run
# A chunk of messages starts in the first half of the buffer and covers at most this much of it,
# minus a margin for the drift that snapping very short messages to whole words can cause.
_SNAP_MARGIN = 1 << 16


@dataclass(frozen=True)
class WordBuffer:
    data: np.ndarray  # uint8: words separated by single spaces, ending with a space
    starts: np.ndarray  # int64: byte offset of every word start, then len(data) as a sentinel
    next_word: np.ndarray  # int32 per byte offset (and len(data)): index of the first word starting there or later
    arrow: pa.Buffer  # the same bytes, zero copy

    @property
    def chunk_capacity(self) -> int:
        return self.data.size // 2 - _SNAP_MARGIN


def _word_matrix(words: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every word and its separator as one padded row; the mask of the row's real bytes."""
    encoded = [w.encode("ascii") for w in words]
    lengths = np.array([len(w) + 1 for w in encoded], dtype=np.int64)  # word + separator
    matrix = np.full((len(encoded), int(lengths.max())), ord(WORD_SEPARATOR), dtype=np.uint8)
    for row, word in enumerate(encoded):
        matrix[row, : len(word)] = np.frombuffer(word, dtype=np.uint8)
    mask = np.arange(matrix.shape[1])[None, :] < lengths[:, None]
    return matrix, mask, lengths


def _alias_table(weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Walker's alias table: O(1) weighted draws, vectorised (rng.choice with p is a binary search)."""
    n = weights.size
    scaled = weights / weights.sum() * n
    accept = np.ones(n)
    alias = np.arange(n)
    small = [i for i in range(n) if scaled[i] < 1.0]
    large = [i for i in range(n) if scaled[i] >= 1.0]
    while small and large:
        s, g = small.pop(), large.pop()
        accept[s], alias[s] = scaled[s], g
        scaled[g] -= 1.0 - scaled[s]
        (small if scaled[g] < 1.0 else large).append(g)
    return accept, alias


@lru_cache(maxsize=1)
def word_buffer(size: int = BUFFER_BYTES) -> WordBuffer:
    """The shared buffer: Zipf-weighted neutral words, built vectorised (~0.1 s, once per process)."""
    words = NEUTRAL_WORDS
    if not words or any((not w) or (not w.isascii()) or any(ch.isspace() for ch in w) for w in words):
        raise ValueError("NEUTRAL_WORDS must be non-empty ASCII words without whitespace")
    matrix, mask, lengths = _word_matrix(words)
    rng = np.random.default_rng(WORD_BUFFER_SEED)
    # Real text is Zipfian; the rank of a word is a fixed shuffle of the (sorted) list.
    accept, alias = _alias_table(1.0 / (rng.permutation(len(words)) + 1.0))
    n_words = int(size / lengths.mean() * 1.1) + 1
    column = rng.integers(0, len(words), n_words)
    picks = np.where(rng.random(n_words) < accept[column], column, alias[column])
    word_ends = np.cumsum(lengths[picks])
    cut = int(np.searchsorted(word_ends, size, side="right"))  # whole words only
    picks, word_ends = picks[:cut], word_ends[:cut]
    data = np.ascontiguousarray(matrix[picks][mask[picks]])
    starts = np.concatenate([[0], word_ends]).astype(np.int64)  # the last entry is len(data)
    # A lookup table instead of a binary search per message boundary (5x faster, 4 bytes per byte).
    next_word = np.concatenate([[0], np.repeat(np.arange(1, starts.size, dtype=np.int32), np.diff(starts))])
    for array in (data, starts, next_word):
        array.setflags(write=False)
    return WordBuffer(data=data, starts=starts, next_word=next_word, arrow=pa.py_buffer(data))


def _chunk(buffer: WordBuffer, lengths: np.ndarray, start_word: int) -> pa.StringArray | None:
    """Messages of `lengths` from the word at `start_word`; None when snapping overran the buffer."""
    target = np.empty(lengths.size + 1, dtype=np.int64)
    target[0] = buffer.starts[start_word]
    np.cumsum(lengths + 1, out=target[1:])
    target[1:] += target[0]
    word = buffer.next_word[target]  # first word starting at or after each target
    # Strictly increasing word indices: every message holds at least one whole word.
    steps = np.arange(word.size)
    word = np.maximum.accumulate(word - steps) + steps
    if word[-1] >= buffer.starts.size:
        return None
    offsets = buffer.starts[word].astype(np.int32)
    with_separator = pa.BinaryArray.from_buffers(pa.binary(), lengths.size, [None, pa.py_buffer(offsets), buffer.arrow])
    return pc.binary_slice(with_separator, 0, -1).view(pa.string())


def content_column(lengths: np.ndarray, rng: np.random.Generator) -> pa.ChunkedArray:
    """One string per entry of `lengths` (characters, >= 1), whole neutral words only."""
    buffer = word_buffer()
    lengths = np.clip(np.asarray(lengths, dtype=np.int64), 1, MAX_MESSAGE_CHARS)
    first_half_words = int(np.searchsorted(buffer.starts, buffer.data.size // 2))
    chunks: list[tuple[int, pa.Array]] = []
    pending = [(0, lengths.size)]
    while pending:
        lo, hi = pending.pop()
        if lo >= hi:
            continue
        # Split so that every chunk's text fits in half the buffer.
        ends = np.cumsum(lengths[lo:hi] + 1)
        fit = int(np.searchsorted(ends, buffer.chunk_capacity, side="right"))
        if fit < hi - lo:
            pending.append((lo + fit, hi))
            hi = lo + fit
        array = _chunk(buffer, lengths[lo:hi], int(rng.integers(0, first_half_words)))
        if array is None:  # many very short messages drifted past the end: halve and retry
            middle = (lo + hi) // 2
            pending.extend([(middle, hi), (lo, middle)] if middle > lo else [])
            if middle == lo:
                raise ValueError("cannot fit one message into the word buffer")
            continue
        chunks.append((lo, array))
    chunks.sort(key=lambda item: item[0])
    return pa.chunked_array([a for _, a in chunks], type=pa.string())
