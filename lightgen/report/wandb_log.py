"""Scalars of a wandb offline run, read from its ``run-<id>.wandb`` file without syncing it.

The file is the transaction log that ``wandb sync`` uploads: a 7-byte header (``:W&B``, magic
0xBEE1, version 0), then records in LevelDB's log format, i.e. 32 KiB blocks of chunks, each chunk a
7-byte header (crc32 as uint32, payload length as uint16, type: 1 full, 2 first, 3 middle, 4 last)
followed by its payload; a block whose tail is shorter than a chunk header is padded with zeros. Each
record is a ``wandb.proto.wandb_internal_pb2.Record`` protobuf; ``history`` records carry the logged
rows as (key, JSON value) items. The layout belongs to wandb: when this reader cannot parse a file,
:func:`read_wandb_history` raises :class:`WandbLogUnreadable` and the page says to use ``wandb sync``.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator
from pathlib import Path

BLOCK = 32 * 1024
FILE_HEADER = struct.Struct("<4sHB")  # ident, magic, version
CHUNK_HEADER = struct.Struct("<IHB")  # crc32, length, type
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4


class WandbLogUnreadable(Exception):
    """The .wandb file is not in the layout this reader knows (or wandb's protobufs are missing)."""


def records(data: bytes) -> Iterator[bytes]:
    """The record payloads of a .wandb file's bytes, chunks reassembled."""
    if len(data) < FILE_HEADER.size:
        raise WandbLogUnreadable("file shorter than its header")
    ident, magic, _version = FILE_HEADER.unpack_from(data)
    if ident != b":W&B" or magic != 0xBEE1:
        raise WandbLogUnreadable(f"unknown header {data[:7]!r}")
    pos, pending = FILE_HEADER.size, b""
    while pos + CHUNK_HEADER.size <= len(data):
        room = BLOCK - pos % BLOCK
        if room < CHUNK_HEADER.size:  # zero padding at the end of a block
            pos += room
            continue
        _crc, length, kind = CHUNK_HEADER.unpack_from(data, pos)
        pos += CHUNK_HEADER.size
        if kind == 0 and length == 0:  # zero padding written before a block boundary
            pos += room - CHUNK_HEADER.size
            continue
        payload = data[pos : pos + length]
        pos += length
        if kind == FULL:
            yield payload
        elif kind == FIRST:
            pending = payload
        elif kind == MIDDLE:
            pending += payload
        elif kind == LAST:
            yield pending + payload
            pending = b""
        else:
            raise WandbLogUnreadable(f"unknown chunk type {kind} at byte {pos - length}")


# columns every wandb history row carries, which are the x-axis or bookkeeping rather than curves
STEP_KEYS = ("trainer/global_step", "_step")


def read_wandb_history(path: str | Path) -> dict[str, list[tuple[float, float]]]:
    """``{name: [(step, value), ...]}`` of the numeric scalars logged to a .wandb file.

    The x-axis is Lightning's ``trainer/global_step`` when the row carries it, else wandb's ``_step``.
    """
    try:
        from wandb.proto import wandb_internal_pb2 as pb
    except ImportError as exc:  # wandb not installed, or its protobufs moved
        raise WandbLogUnreadable(f"wandb's protobufs cannot be imported ({exc})") from None
    series: dict[str, list[tuple[float, float]]] = {}
    for payload in records(Path(path).read_bytes()):
        record = pb.Record()
        try:
            record.ParseFromString(payload)
        except Exception as exc:  # noqa: BLE001  (protobuf's DecodeError: a layout this reader does not know)
            raise WandbLogUnreadable(f"a record does not parse ({exc})") from None
        if record.WhichOneof("record_type") != "history":
            continue
        row = {}
        for item in record.history.item:
            key = item.key or "/".join(item.nested_key)
            try:
                row[key] = json.loads(item.value_json)
            except ValueError:
                continue
        step = next((row[k] for k in STEP_KEYS if isinstance(row.get(k), (int, float))), None)
        if step is None:
            step = record.history.step.num
        # a logged image is a group of items (samples/_type, samples/width, ...): none is a curve
        media = tuple(k[: -len("_type")] for k in row if k.endswith("/_type"))
        for key, value in row.items():
            if key.startswith("_") or key in STEP_KEYS or isinstance(value, bool) or key.startswith(media):
                continue
            if isinstance(value, (int, float)):
                series.setdefault(key, []).append((float(step), float(value)))
    return series
