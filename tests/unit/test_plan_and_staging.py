"""Planning a file into slices and staging a unit's outputs: the bytes each unit scores do not depend on the
order its slices are read in, and a staged bundle gives back exactly what was staged."""

from __future__ import annotations

import gzip

import pytest

from windpitch_batch.outputs import bundle, unbundle
from windpitch_batch.plan import UnitRef, data_lines, piece, plan

HEADER = b"Wind_turbine_name;Date_time;Ba_avg\n"


def body(lines: int, *, blank_every: int = 7) -> bytes:
    """A file with blank lines among its data lines and no newline at its end."""
    rows = []
    for i in range(lines):
        rows.append(b"R80711;2015-01-01T00:%02d:00+01:00;%d\n" % (i % 60, i))
        if i % blank_every == 3:
            rows.append(b"\n")
    return (HEADER + b"".join(rows)).rstrip(b"\n")


def fresh(data: bytes, ref: UnitRef, slice_lines: int) -> bytes:
    """The slice as the file's text says it is: its header, then the slice's non-blank lines, each with a newline."""
    text = gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data
    header, *lines = text.split(b"\n")
    kept = [line + b"\n" for line in lines if line.strip()]
    return header + b"\n" + b"".join(kept[ref.slice * slice_lines : (ref.slice + 1) * slice_lines])


@pytest.mark.parametrize("compressed", [False, True])
@pytest.mark.parametrize("order", ["in order", "reversed", "interleaved with another file"])
def test_a_slice_is_the_same_bytes_whatever_was_read_before_it(compressed: bool, order: str) -> None:
    data = body(103)
    other = body(50, blank_every=3)
    if compressed:
        data, other = gzip.compress(data), gzip.compress(other)
    refs = plan(data, UnitRef("raw/a.csv", "e1"), slice_lines=10)
    others = plan(other, UnitRef("raw/b.csv", "e2"), slice_lines=10)
    assert [r.slices for r in refs] == [11] * 11
    sequence = {
        "in order": [(data, r) for r in refs],
        "reversed": [(data, r) for r in reversed(refs)],
        "interleaved with another file": [pair for a, b in zip(refs, others, strict=False) for pair in
                                          ((data, a), (other, b))] + [(data, r) for r in refs[len(others):]],
    }[order]  # fmt: skip

    pieces = {(ref.key, ref.slice): piece(content, ref, 10) for content, ref in sequence}

    for content, ref in sequence:
        got = pieces[(ref.key, ref.slice)]
        assert got.data == fresh(content, ref, 10), f"{ref.key} slice {ref.slice}"
        assert got.lines_before == ref.slice * 10
    assert sum(len(pieces[("raw/a.csv", r.slice)].data.splitlines()) - 1 for r in refs) == 103


def test_a_new_version_of_the_file_is_never_continued_from_the_old_one() -> None:
    old, new = body(30), body(30).replace(b";1\n", b";999\n")
    first = UnitRef("raw/a.csv", "old", 0, 3)
    piece(old, first, 10)

    got = piece(new, UnitRef("raw/a.csv", "new", 1, 3), 10)

    assert got.data == fresh(new, UnitRef("raw/a.csv", "new", 1, 3), 10)


@pytest.mark.parametrize("size", [1, 2, 7, 1 << 20])
def test_lines_are_the_same_whatever_the_chunk_size(size: int, monkeypatch: pytest.MonkeyPatch) -> None:
    from windpitch_batch import plan as planning

    data = body(40) + b"\r\n\n  \nlast"
    whole = list(data_lines(data, header=True))
    split = planning._split
    monkeypatch.setattr(planning, "_split", lambda stream: split(stream, size))
    assert list(data_lines(data, header=True)) == whole
    assert whole[0] == HEADER and whole[-1] == b"last\n" and all(line.endswith(b"\n") for line in whole)


def test_a_bundle_gives_back_every_output_in_order_and_is_deterministic() -> None:
    outputs = [
        ("monitoring/counts/a.json", b"{}", "application/json"),
        ("predictions/date=2015-06-01/part-a.parquet", bytes(range(256)) * 50, "application/vnd.apache.parquet"),
        ("quarantine/a/rows.csv", b"", "text/csv"),
    ]
    assert unbundle(bundle(outputs)) == outputs
    assert bundle(outputs) == bundle(list(outputs))
    assert unbundle(bundle([])) == []
