"""Minimal single-pass reference with seedctl's hashing and durability work: `reference_copier.py STAGING DRIVE [--page]`.
Per file: 4 MiB chunks read once, written to a temporary name (an all-zero chunk as a hole), an MD5 per block
(block blobs) or per page range (--page: a chunk's non-zero pages, trimmed at both ends; no range for a zero
chunk), the whole file's Azure CRC-64 (anycrc, as seedctl). Per group (32 MiB or 256 files; a large file
alone, fdatasync'd every 256 MiB as seedctl checkpoints it): syncfs, journal "pending" + fsync, renames,
syncfs, journal records + fsync. Then the manifest, streamed with its MD5 computed while writing, fsync,
rename. No checks, threads, resume or range files."""
import ctypes
import hashlib
import json
import os
import sys
import zlib
from base64 import b64encode
from xml.sax.saxutils import escape

import anycrc

CHUNK, GROUP_BYTES, GROUP_FILES, CHECKPOINT = 4 << 20, 32 << 20, 256, 256 << 20
syncfs = ctypes.CDLL(None, use_errno=True).syncfs
crc64 = anycrc.Model("CRC64-NVME")
ZERO = memoryview(bytes(CHUNK))


def span(buf: bytearray, n: int) -> tuple[int, int]:
    """The chunk without its leading and trailing zero pages (page at a time: the reference is plain)."""
    lo, hi = 0, n
    while buf.startswith(ZERO[:512], lo, lo + 512):
        lo += 512
    while buf.startswith(ZERO[:512], hi - 512, hi):
        hi -= 512
    return lo, hi


def main(src: str, drive: str, page: bool) -> None:
    files = sorted(os.path.relpath(os.path.join(d, f), src) for d, _, fs in os.walk(src) for f in fs)
    os.makedirs(f"{drive}/.seedctl/tmp")
    root = os.open(drive, os.O_RDONLY)
    jfd = os.open(f"{drive}/.seedctl/journal.jsonl", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    buf, made, records, group, gbytes = bytearray(CHUNK), set(), [], [], 0

    def journal(recs: list) -> None:
        os.write(jfd, b"".join((json.dumps({"c": zlib.crc32(json.dumps(r).encode()), "r": r}) + "\n").encode()
                               for r in recs))
        os.fsync(jfd)

    def commit() -> None:
        nonlocal group, gbytes
        syncfs(root)
        journal([{"t": "pending", "rels": [g[0] for g in group]}])
        for rel, tmp, _ in group:
            parent = os.path.dirname(f"{drive}/seed/{rel}")
            if parent not in made:
                os.makedirs(parent, exist_ok=True), made.add(parent)
            os.rename(tmp, f"{drive}/seed/{rel}")
        syncfs(root)
        journal([{"t": "file", "rel": rel, **rec} for rel, _, rec in group])
        records.extend(group)
        group, gbytes = [], 0

    for n, rel in enumerate(files):
        tmp, crc, parts = f"{drive}/.seedctl/tmp/{n:08d}.part", 0, []
        view = memoryview(buf)
        with open(os.path.join(src, rel), "rb", buffering=0) as fin:
            st = os.fstat(fin.fileno())
            size = st.st_size
            commit() if size > GROUP_BYTES and group else None
            with open(tmp, "wb", buffering=0) as fout:
                offset = 0
                while got := fin.readinto(buf):
                    chunk = view[:got]
                    crc = crc64.calc(chunk, crc) if offset else crc64.calc(chunk)
                    if buf.startswith(ZERO[:got], 0, got):
                        fout.seek(got, 1)  # a hole
                        parts += [] if page else [(offset, got, hashlib.md5(chunk).hexdigest())]
                    else:
                        lo, hi = span(buf, got) if page else (0, got)
                        parts.append((offset + lo, hi - lo, hashlib.md5(view[lo:hi]).hexdigest()))
                        fout.write(chunk)
                    offset += got
                    if size > GROUP_BYTES and offset % CHECKPOINT == 0:
                        os.fdatasync(fout.fileno())
                fout.truncate(size)
            os.utime(tmp, ns=(st.st_mtime_ns, st.st_mtime_ns))
        group.append((rel, tmp, {"size": size, "crc": crc, "parts": parts}))
        gbytes += size
        commit() if gbytes >= GROUP_BYTES or len(group) >= GROUP_FILES else None
    commit() if group else None
    digest, out = hashlib.md5(), open(f"{drive}/DriveManifest.xml.tmp", "wb")
    emit = lambda text: (digest.update(text.encode()), out.write(text.encode()))  # noqa: E731 - hash as it streams
    emit('<?xml version="1.0" encoding="UTF-8"?>\n<DriveManifest Version="2014-11-01"><Drive><DriveId>REF</DriveId>'
         '<BlobList>')
    for rel, _, rec in records:
        emit(f"<Blob><BlobPath>seed/{escape(rel)}</BlobPath><FilePath>\\seed\\{escape(rel.replace('/', chr(92)))}"
             f"</FilePath><ClientData>seedctl:crc64={rec['crc']}</ClientData><Length>{rec['size']}</Length>"
             f"<ImportDisposition>overwrite</ImportDisposition>{'<PageRangeList>' if page else '<BlockList>'}")
        if page:
            emit("".join(f'<PageRange Offset="{o}" Length="{n}" Hash="{h.upper()}"/>' for o, n, h in rec["parts"]))
        else:
            emit("".join(f'<Block Offset="{o}" Length="{n}" Id="MD5/{b64encode(bytes.fromhex(h)).decode()}" '
                         f'Hash="{h.upper()}"/>' for o, n, h in rec["parts"]))
        emit(f"{'</PageRangeList>' if page else '</BlockList>'}</Blob>")
    emit("</BlobList></Drive></DriveManifest>\n")
    out.flush(), os.fsync(out.fileno()), out.close()
    os.rename(f"{drive}/DriveManifest.xml.tmp", f"{drive}/DriveManifest.xml")
    os.fsync(root)
    print(digest.hexdigest().upper())


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], "--page" in sys.argv[3:])
