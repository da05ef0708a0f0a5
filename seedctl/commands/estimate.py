"""`seedctl estimate`: how many drives, how full, how long the copy, and the calendar — from the
staging folder alone, before any drive is bought or attached (seedctl/estimate.py says how)."""

from __future__ import annotations

import argparse

from seedctl.commands.common import (
    DEFAULT_SPEC,
    HelpFormatter,
    add_output_argument,
    dump_data,
    output_of,
    resolve_path,
)
from seedctl.env import Env
from seedctl.errors import ExitCode

EXAMPLES = """\
examples:
  seedctl estimate                               the spec's staging folder and drives (seed.yaml)
  seedctl estimate --drive-size 8TB              how many 8 TB drives, and how full
  seedctl estimate --staging D:\\MARSStaging --drive-size 4TB --drive-size 10TB
  seedctl estimate --throughput 180MB/s --start 2026-12-01 -o json"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "estimate", help="drives to buy, copy time and the calendar, from the staging folder alone",
        description="Size the seed before buying drives: scan the staging folder, count the zero runs "
                    "page blobs leave out, pour the files onto drives of each size as plan would, time "
                    "the copy at a stated or measured rate, and lay out the calendar with its deadlines. "
                    "Reads staging only; nothing in Azure, nothing written.",
        epilog=EXAMPLES, formatter_class=HelpFormatter)
    parser.add_argument("-f", "--file", default=DEFAULT_SPEC,
                        help=f"the spec whose staging folder and drives to use (default: {DEFAULT_SPEC}; "
                             "not needed with --staging)")
    parser.add_argument("--staging", metavar="PATH", help="the staging folder (default: the spec's staging.path)")
    parser.add_argument("--drive-size", action="append", default=[], metavar="SIZE",
                        help="a drive size to plan for, as sold (8TB) or exact (7.2TiB); repeatable "
                             "(default: the spec's drives, else 2, 4, 8 and 10 TB)")
    parser.add_argument("--throughput", metavar="RATE",
                        help="the copy's rate, e.g. 200MB/s (default: measured by a short read of staging)")
    parser.add_argument("--blob-type", choices=("page", "block"), default=None,
                        help="how the files land in Azure (default: the spec's staging.blob_type, else page, "
                             "the backup agent's)")
    parser.add_argument("--start", metavar="DATE", help="when the copy starts, YYYY-MM-DD[THH:MM] UTC (default: now)")
    parser.add_argument("--transit-days", type=int, default=None, metavar="N",
                        help="days the carrier takes to the datacenter (default 3, an assumption)")
    parser.add_argument("--backup-interval-days", type=int, default=None, metavar="N",
                        help="days between the agent's scheduled backups (default 1)")
    parser.add_argument("--samples", type=int, default=None, metavar="N",
                        help="64 KiB reads that estimate the zeros written as data (default 256; 0: holes only)")
    add_output_argument(parser, what="the estimate")
    parser.set_defaults(handler=run)


def _start(text: str | None, env: Env) -> object:
    from datetime import datetime, timezone

    from seedctl.errors import SeedctlError

    if not text:
        return env.now()
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise SeedctlError(f"--start {text!r}: not a date such as 2026-12-01 or 2026-12-01T09:00") from None
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def run(args: argparse.Namespace, env: Env) -> int:
    from pathlib import Path

    from seedctl import estimate as est
    from seedctl.drives import scan_staging
    from seedctl.errors import SeedctlError
    from seedctl.spec.sizes import parse_size

    spec = None
    if not args.staging or resolve_path(env, args.file).exists():
        from seedctl.commands.common import load_spec_from_args

        spec = load_spec_from_args(args, env)
    if args.staging:
        root = Path(args.staging).expanduser()
        root = root if root.is_absolute() else Path(env.cwd) / root
    else:
        root = spec.staging_root()  # type: ignore[union-attr]
    if not root.is_dir():
        raise SeedctlError(f"staging folder {root} is not here (not mounted, or a wrong path): estimate reads it")
    sizes = []
    for text in args.drive_size:
        try:
            sizes.append(parse_size(text))
        except ValueError as exc:
            raise SeedctlError(f"--drive-size {text!r}: {exc}") from None
    blob_type = args.blob_type or (getattr(spec.staging, "blob_type", None) if spec else None) or "page"
    scan = scan_staging(root, include=spec.staging.include if spec else (),
                        exclude=spec.staging.exclude if spec else (),
                        container=spec.container.name if spec else "offline-seed",
                        prefix=spec.container.prefix if spec else "")
    files, refused = sized_files(root, scan)
    total = sum(f.size for f in files) if refused else files.total_bytes
    samples = est.DEFAULT_SAMPLES if args.samples is None else args.samples
    if blob_type == "page":
        zeros = est.count_zeros(root, files, samples=samples)
    else:
        zeros = est.ZeroCount(total, data_bytes=total, counted=False)
    throughput = (est.Throughput(est.parse_rate(args.throughput), "stated") if args.throughput
                  else est.measure_read_rate(root, files))
    fits = []
    if spec and not sizes and all(d.capacity for d in spec.drives):
        fits.append(est.fit_spec_drives(files, [(d.serial, d.capacity or 0) for d in spec.drives]))
        sizes = [max(d.capacity or 0 for d in spec.drives)]
    fits.extend(est.fit_drives(files, size) for size in (sizes or est.DEFAULT_DRIVE_SIZES))
    start = _start(args.start, env)
    result = est.Estimate(str(root), blob_type, len(files), total, zeros, throughput, fits,
                          start=start, skipped=len(scan.skipped), refused=refused)  # type: ignore[arg-type]
    if result.copy_seconds is not None:
        result.steps = est.calendar(
            start, result.copy_seconds,  # type: ignore[arg-type]
            transit_days=est.DEFAULT_TRANSIT_DAYS if args.transit_days is None else args.transit_days,
            backup_interval_days=(est.DEFAULT_BACKUP_INTERVAL_DAYS if args.backup_interval_days is None
                                  else args.backup_interval_days))
    output = output_of(args)
    if output == "table":
        from seedctl.render.estimate import render_estimate

        env.stdout.write(render_estimate(result))
    else:
        env.stdout.write(dump_data(result.to_json(), output))
    return ExitCode.OK


def sized_files(root: object, scan: object) -> tuple[object, list[str]]:
    """The files to size: the scan's, plus the regular files it refused (a name Azure would not take,
    a size the manifest cannot describe yet): they still need room on a drive once fixed, so leaving
    them out would undercount the drives. Returns (files in scan order, the refusals as sentences)."""
    import os
    import stat

    from seedctl.drives import StagedFile

    refused = [p for p in scan.errors]  # type: ignore[attr-defined]
    if not refused:
        return scan.files, []  # type: ignore[attr-defined]
    extra = []
    for problem in refused:
        try:
            info = os.lstat(os.path.join(str(root), problem.path))
        except (OSError, ValueError):
            continue
        if stat.S_ISREG(info.st_mode):
            extra.append(StagedFile(problem.path, info.st_size, info.st_mtime_ns, problem.path))
    files = sorted([*scan.files, *extra], key=lambda f: f.rel_path)  # type: ignore[attr-defined]
    return files, [str(p) for p in refused]
