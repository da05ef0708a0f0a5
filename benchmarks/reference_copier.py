"""Minimal single-pass reference with seedctl's hashing and durability work: `reference_copier.py STAGING DRIVE`.
Per file: 4 MiB blocks read once, MD5 per block and whole file, written to a temporary name. Per group (32 MiB
or 256 files; a large file alone): syncfs, journal "pending" + fsync, renames, syncfs, journal records + fsync.
Then the manifest, streamed with its MD5 computed while writing, fsync, rename. No checks, threads or resume."""
import ctypes
import hashlib
import json
import os
import sys
import zlib
from base64 import b64encode
from xml.sax.saxutils import escape

BLOCK, GROUP_BYTES, GROUP_FILES = 4 << 20, 32 << 20, 256
syncfs = ctypes.CDLL(None, use_errno=True).syncfs


def main(src: str, drive: str) -> None:
    files = sorted(os.path.relpath(os.path.join(d, f), src) for d, _, fs in os.walk(src) for f in fs)
    os.makedirs(f"{drive}/.seedctl/tmp")
    root = os.open(drive, os.O_RDONLY)
    jfd = os.open(f"{drive}/.seedctl/journal.jsonl", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    buf, made, records, group, gbytes = bytearray(BLOCK), set(), [], [], 0

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
        tmp, whole, blocks = f"{drive}/.seedctl/tmp/{n:08d}.part", hashlib.md5(), []
        with open(os.path.join(src, rel), "rb", buffering=0) as fin:
            st = os.fstat(fin.fileno())
            size = st.st_size
            commit() if size > GROUP_BYTES and group else None
            with open(tmp, "wb", buffering=0) as fout:
                while got := fin.readinto(buf):
                    view = memoryview(buf)[:got]
                    blocks.append(hashlib.md5(view).digest())
                    whole.update(view)
                    fout.write(view)
                os.utime(fout.fileno(), ns=(st.st_mtime_ns, st.st_mtime_ns))
        group.append((rel, tmp, {"size": size, "md5": whole.hexdigest().upper(),
                                 "blocks": [b.hex() for b in blocks]}))
        gbytes += size
        commit() if gbytes >= GROUP_BYTES or len(group) >= GROUP_FILES else None
    commit() if group else None
    digest, out = hashlib.md5(), open(f"{drive}/DriveManifest.xml.tmp", "wb")
    emit = lambda text: (digest.update(text.encode()), out.write(text.encode()))  # noqa: E731 - hash as it streams
    emit('<?xml version="1.0" encoding="UTF-8"?>\n<DriveManifest Version="2014-11-01"><Drive><DriveId>REF</DriveId>'
         '<BlobList>')
    for rel, _, rec in records:
        emit(f"<Blob><BlobPath>seed/{escape(rel)}</BlobPath><FilePath>\\seed\\{escape(rel.replace('/', chr(92)))}"
             f"</FilePath><Length>{rec['size']}</Length><ImportDisposition>overwrite</ImportDisposition><BlockList>")
        emit("".join(f'<Block Offset="{i * BLOCK}" Length="{min(BLOCK, rec["size"] - i * BLOCK)}" Id="MD5/'
                     f'{b64encode(bytes.fromhex(b)).decode()}" Hash="{b.upper()}"/>'
                     for i, b in enumerate(rec["blocks"])))
        emit("</BlockList></Blob>")
    emit("</BlobList></Drive></DriveManifest>\n")
    out.flush(), os.fsync(out.fileno()), out.close()
    os.rename(f"{drive}/DriveManifest.xml.tmp", f"{drive}/DriveManifest.xml")
    os.fsync(root)
    print(digest.hexdigest().upper())


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
