"""`seedctl estimate` for people: the staging data, the drives of each size, the copy time and the
calendar, in IEC units like every other size seedctl shows (drive labels in decimal, as sold)."""

from __future__ import annotations

from seedctl.estimate import MAX_DRIVES_PER_JOB, ZERO_RUNS_FILL_DRIVES, Estimate, describe_duration
from seedctl.render._common import clean
from seedctl.units import format_bytes, format_rate


def _pct(part: float, whole: float) -> str:
    return f"{100 * part / whole:.1f} %" if whole else "0 %"


def render_estimate(est: Estimate) -> str:
    out = [f"seedctl estimate for {clean(est.staging)} ({est.blob_type} blobs)", ""]
    z = est.zeros
    out.append(f"Staging: {est.files:,} file{'s' if est.files != 1 else ''}, {format_bytes(est.total_bytes)}"
               + (f" ({est.skipped:,} entries skipped: not seeded)" if est.skipped else ""))
    if z.counted:
        out.append(f"  zeros: {format_bytes(z.zero_bytes)} ({_pct(z.zero_bytes, est.total_bytes)}); counted with "
                   f"{z.method()}")
        out.append(f"  lands in Azure: {format_bytes(est.azure_bytes)} of page data (page blobs keep only the pages "
                   "that hold data)")
    else:
        out.append(f"  lands in Azure: {format_bytes(est.azure_bytes)} (block blobs store every byte)")
    if est.refused:
        out.append(f"  counted, but plan refuses {len(est.refused):,} of them as they are (fix before apply):")
        out.extend(f"    {clean(line)}" for line in est.refused[:5])
        if len(est.refused) > 5:
            out.append(f"    ... and {len(est.refused) - 5:,} more")
    out.append("")
    out.append("Drives" + (" (drive fill counts every byte: seedctl writes zero runs to the drive as data)"
                           if ZERO_RUNS_FILL_DRIVES and z.counted and z.zero_bytes else "") + ":")
    for fit in est.fits:
        size = (f"{fit.label} ({format_bytes(fit.capacity)})" if fit.label[0].isdigit() else fit.label)
        if fit.error:
            out.append(f"  {size}: {clean(fit.error)}")
            continue
        fills = ", ".join(f"{100 * d.fill:.1f} %" for d in fit.drives)
        line = f"  {size}: {fit.count} drive{'s' if fit.count != 1 else ''}, full: {fills}"
        if fit.jobs > 1:
            line += (f" — more than the {MAX_DRIVES_PER_JOB} drives one import job takes: "
                     f"{fit.jobs} jobs (split staging into {fit.jobs} specs)")
        out.append(line)
    out.append("  A drive's usable space is its capacity less 1 % (at least 64 MiB), kept free for NTFS's own "
               "metadata; the fill shown is of the whole capacity, as the plan shows it.")
    out.append("")
    if est.throughput is None:
        out.append("Copy time: unknown — staging holds too little data to measure a read rate; give "
                   "--throughput (for example 200MB/s)")
    else:
        t = est.throughput
        how = ("stated" if t.source == "stated" else
               f"measured: {t.detail}; a short read, and staging written just now reads from the cache: "
               "--throughput states the rate instead")
        seconds = est.copy_seconds or 0.0
        out.append(f"Copy time: {describe_duration(seconds)} — {format_bytes(est.copy_bytes)} read at "
                   f"{format_rate(t.bytes_per_second)} ({how}). Every byte of staging is read (that is how "
                   "zero runs are found); drives are written in parallel, so the drives together must "
                   "take this rate.")
    if est.steps:
        out.append("")
        start = f"{est.start:%Y-%m-%d %H:%M} UTC" if est.start else "now"
        out.append(f"Calendar, if the copy starts {start}:")
        for step in est.steps:
            when = (f"{step.earliest:%Y-%m-%d}" if step.earliest == step.latest
                    else f"{step.earliest:%Y-%m-%d} – {step.latest:%Y-%m-%d}")
            out.append(f"  {when:<25} {step.what}" + (f" ({step.note})" if step.note else ""))
    return "\n".join(out) + "\n"
