"""`seedctl status`: where the job is, what the operator must do next, and how long they have.

The service deletes a job whose carrier and tracking number are not entered within two weeks of
its creation (reference §3.7), so the deadline is computed from the job's creation time and
warned about loudly from three days before it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from seedctl.lifecycle import JSON_VERSION, LifecycleExit
from seedctl.resources.jobs import base as phases
from seedctl.resources.jobs.databox import COPY_FAILURES

SHIPPING_DEADLINE = timedelta(days=14)   # tracking number must be entered within two weeks of creation
DEADLINE_WARNING = timedelta(days=3)     # from here on status exits ATTENTION
ARRIVAL_WINDOW = timedelta(days=14)      # drives should reach the datacenter within two weeks of shipping

INFO, ACTION, ATTENTION, CRITICAL = "info", "action", "attention", "critical"
_LEVEL_EXIT = {INFO: LifecycleExit.OK, ACTION: LifecycleExit.OK, ATTENTION: LifecycleExit.ATTENTION,
               CRITICAL: LifecycleExit.CRITICAL}

# drive copy statuses that mean the drive as a whole failed (reference §1.3), with what to do
DRIVE_FAILURES = {
    "DiskNotFound": "the datacenter could not find the disk",
    "BitLockerKeyInvalid": "the BitLocker key in the job does not unlock the drive",
    "BitLockerVolumeNotFound": "no BitLocker volume on the drive",
    "BitLockerNotActivated": "BitLocker is not active on the drive",
    "BitLockerProtectorNotFound": "the drive has no numerical-password protector",
    "BitLockerUnlockVolumeFailed": "the drive could not be unlocked",
    "VolumeNotNtfs": "the first data volume is not NTFS",
    "ManifestNotFound": "the manifest is missing from the drive",
    "ManifestCorrupted": "the manifest on the drive differs from the hash in the job",
    "ManifestFormatInvalid": "the manifest could not be read",
    "ManifestDriveIdMismatch": "the manifest names another drive",
    # a Data Box disk's copy status when it arrived and could not be copied (its CopyStatus enum)
    **COPY_FAILURES,
}


def parse_time(text: Any) -> datetime | None:
    """A service time in UTC. Data Box gives local offsets ("...+05:30") and seven fractional
    digits; every time status shows is labelled UTC, so it is converted, not just read."""
    if isinstance(text, datetime):
        value = text
    elif not text or not isinstance(text, str):
        return None
    else:
        try:
            value = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None
    return value.astimezone(timezone.utc) if value.tzinfo else value.replace(tzinfo=timezone.utc)


def describe_span(span: timedelta) -> str:
    """'3 days', '1 day 4 hours', '5 hours' — rounded down, as a countdown should be."""
    seconds = max(0, int(span.total_seconds()))
    days, hours = seconds // 86400, (seconds % 86400) // 3600
    if days and hours:
        return f"{days} day{'s' * (days != 1)} {hours} hour{'s' * (hours != 1)}"
    if days:
        return f"{days} day{'s' * (days != 1)}"
    if hours:
        return f"{hours} hour{'s' * (hours != 1)}"
    return "less than an hour"


@dataclass
class Deadline:
    due: datetime
    remaining: timedelta  # negative once passed

    @property
    def passed(self) -> bool:
        return self.remaining.total_seconds() <= 0

    @property
    def days_left(self) -> int:
        """Whole days left (negative: days since it passed), rounded toward the deadline's side."""
        days = self.remaining.total_seconds() / 86400
        return math.floor(days) if days >= 0 else -math.ceil(-days)

    def to_json(self) -> dict[str, Any]:
        return {"due": self.due.isoformat(), "days_left": self.days_left, "passed": self.passed,
                "seconds_left": int(self.remaining.total_seconds())}


@dataclass
class Notice:
    level: str
    text: str


@dataclass
class StatusReport:
    job_name: str
    job: dict[str, Any] | None
    now: datetime
    notices: list[Notice] = field(default_factory=list)
    deadline: Deadline | None = None
    verified: Any = None  # storage.VerifiedRecord

    @property
    def exit_code(self) -> int:
        return max((_LEVEL_EXIT[n.level] for n in self.notices), default=LifecycleExit.OK)

    @property
    def final(self) -> bool:
        return self.job is None or self.job["phase"] in phases.FINAL_PHASES

    def to_json(self) -> dict[str, Any]:
        job = self.job
        out: dict[str, Any] = {"version": JSON_VERSION, "job_name": self.job_name, "checked_at": self.now.isoformat(),
                               "exists": job is not None}
        if job is not None:
            out["job"] = {
                "api": job["api"], "state": job["state"], "phase": job["phase"], "location": job["location"],
                "created_at": job.get("created_at"), "percent_complete": job.get("percent_complete"),
                "shipping_address": job.get("shipping_address"), "delivery_package": job.get("delivery_package"),
                "return_package": job.get("return_package"),
                "incomplete_blob_list_uri": job.get("incomplete_blob_list_uri"),
                "drives": [{k: d.get(k) for k in ("drive_id", "state", "copy_status", "percent_complete",
                                                   "bytes_succeeded", "error_log_uri", "verbose_log_uri")}
                           for d in job["drives"]],
            }
        out["deadline"] = self.deadline.to_json() if self.deadline else None
        out["verified"] = ({"at": self.verified.at, "files": self.verified.files} if self.verified else None)
        out["notices"] = [{"level": n.level, "text": n.text} for n in self.notices]
        out["exit_code"] = int(self.exit_code)
        return out


def shipping_deadline(job: dict[str, Any], now: datetime) -> Deadline | None:
    created = parse_time(job.get("created_at"))
    if created is None:
        return None
    due = created + SHIPPING_DEADLINE
    return Deadline(due, due - now)


def _address_lines(addr: dict[str, Any] | None) -> list[str]:
    from seedctl.render.ending import address_lines  # as on a label: "City, ST 12345"

    return address_lines(addr)


def build_report(spec: Any, job: dict[str, Any] | None, now: datetime, verified: Any = None,
                 destroyed: str | None = None) -> StatusReport:
    """Everything `status` says, decided from the spec, the job and the clock (pure: tested with
    a pinned clock and hand-made jobs as well as against the sandbox)."""
    name = spec.import_job.name
    report = StatusReport(name, job, now, verified=verified)
    add = report.notices.append
    if job is None:
        add(Notice(ATTENTION, f"import job {name} does not exist: run `seedctl apply` to prepare the drives and "
                              "create it (a job whose tracking number was never entered is deleted by the "
                              "service after two weeks)"))
        return report
    phase, state = job["phase"], job["state"]
    package = job.get("delivery_package")
    if phase == phases.CREATED and not package:
        report.deadline = shipping_deadline(job, now)
        d = report.deadline
        where = " / ".join(_address_lines(job.get("shipping_address"))) or "the datacenter address (`seedctl status`)"
        todo = ("run `seedctl apply` to enter the shipment already in the spec" if spec.shipment else
                "add a `shipment:` block (carrier_name, tracking_number) to the spec and run `seedctl apply`")
        if d is None:
            add(Notice(ACTION, f"ship the drives in one package to {where}, then {todo}. The job's creation time "
                               "is unknown, so seedctl cannot count down the two-week deadline"))
        elif d.passed:
            add(Notice(CRITICAL, f"DEADLINE PASSED {describe_span(-d.remaining)} ago ({d.due:%Y-%m-%d %H:%M} UTC): "
                                 f"no tracking number was entered within two weeks of the job's creation, and "
                                 f"the service may delete the job. {todo[0].upper() + todo[1:]} now; if the job "
                                 "is gone, create a new one"))
        elif d.remaining <= DEADLINE_WARNING:
            add(Notice(ATTENTION, f"DEADLINE IN {describe_span(d.remaining).upper()} ({d.days_left} "
                                  f"day{'s' * (d.days_left != 1)} left, {d.due:%Y-%m-%d %H:%M} UTC): enter the "
                                  f"tracking number or the job may be deleted. Ship the drives to {where}, then "
                                  f"{todo}"))
        else:
            add(Notice(ACTION, f"ship the drives in one package to {where}, then {todo} — within "
                               f"{describe_span(d.remaining)} ({d.days_left} days left, by "
                               f"{d.due:%Y-%m-%d %H:%M} UTC)"))
    elif phase == phases.CREATED:
        add(Notice(INFO, "the tracking number is entered; the service has not yet marked the drives shipped"))
    elif phase == phases.SHIPPING:
        add(Notice(INFO, f"the drives are on their way (tracking {package.get('tracking_number') if package else '?'});"
                         " the datacenter logs them in 1-3 business days after delivery. Nothing to do"))
        shipped = parse_time((package or {}).get("ship_date"))
        if shipped and now - shipped > ARRIVAL_WINDOW:
            add(Notice(ATTENTION, f"the drives were shipped {describe_span(now - shipped)} ago and the datacenter "
                                  "has not received them: check the parcel with the carrier"))
    elif phase in (phases.RECEIVED, phases.TRANSFERRING):
        add(Notice(INFO, f"the datacenter is copying the data ({job.get('percent_complete') or 0}% done; 7-10 days "
                         "after receipt is typical, with no SLA). Nothing to do"))
    elif phase == phases.PACKAGING:
        add(Notice(INFO, "the copy is finished and the drives are being packed for return; "
                         "`seedctl verify` once the job is completed"))
    elif phase == phases.COMPLETED:
        if destroyed:
            add(Notice(INFO, f"imported, verified ({verified.files if verified else '?'} files) and the imported "
                             f"copy deleted by `seedctl destroy` ({destroyed}). Nothing left to do (`seedctl "
                             "destroy --staging` also deletes the staging copy)"))
        elif verified:
            add(Notice(INFO, f"imported and verified ({verified.files} files, {verified.at}). After the backup "
                             "agent's next scheduled backup has moved the data into the vault, run "
                             "`seedctl destroy` to delete the imported copy"))
        else:
            add(Notice(ACTION, "the import is complete: run `seedctl verify` to check every file arrived intact"))
    elif phase == phases.COMPLETED_WITH_ERRORS:
        add(Notice(ATTENTION, f"the job finished with errors (state {state}): run `seedctl verify` to see which "
                              "files are missing, then `seedctl repair --out repair.yaml` to send them again"))
    elif phase == phases.CANCELLED:
        add(Notice(ATTENTION, f"the job was cancelled (state {state}); nothing will be imported. Use a new "
                              "import_job.name to start again"))
    else:
        add(Notice(CRITICAL, f"the job failed (state {state}): contact Azure support with the job name {name}"))
    for drive in job["drives"]:
        serial, dstate, copy = drive["drive_id"], drive.get("state"), drive.get("copy_status")
        meaning = phases.DRIVE_STATES.get(dstate) if dstate else phases.DRIVE_WAITING
        # Data Box: the disk's error code names the reason behind a coarse copy status; either may
        # be the one seedctl can explain
        reason = next((r for r in (drive.get("failure_code"), copy) if r in DRIVE_FAILURES), None)
        if meaning == phases.DRIVE_NEVER_RECEIVED:
            add(Notice(ATTENTION, f"drive {serial} never arrived at the datacenter ({copy or dstate}): check "
                                  "the package"))
        elif reason:
            add(Notice(ATTENTION, f"drive {serial} failed: {reason} ({DRIVE_FAILURES[reason]}); its files were not "
                                  "imported — `seedctl repair` covers them"))
        elif meaning is None:
            add(Notice(ATTENTION, f"drive {serial} is in state {dstate}, which seedctl does not know: look at the "
                                  "job in the Azure portal"))
        elif copy and copy not in ("Completed", "InProgress", "NotStarted") and phase not in phases.ACTIVE_PHASES:
            add(Notice(ATTENTION, f"drive {serial}: {copy}: some files were not imported; see its error log "
                                  "and run `seedctl verify`"))
    return report


def _fmt_bytes(n: Any) -> str:
    # one unit system in everything seedctl shows people: binary IEC (seedctl.units)
    from seedctl.units import format_bytes

    return "-" if n is None else format_bytes(float(n))


_MARK = {INFO: "  ", ACTION: "→ ", ATTENTION: "! ", CRITICAL: "!!"}


def _log_label(job: dict[str, Any], drive: dict[str, Any]) -> str:
    """A Data Box disk's copy log is linked as its "error log" even when the copy succeeded (it
    lists nothing then); calling it an error log sent people looking for errors that were not there."""
    if job.get("api") == "databox" and drive.get("copy_status") == "Completed":
        return "copy log (no errors)"
    return "error log"


def render_text(report: StatusReport, *, color: bool = False) -> str:
    def paint(text: str, code: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if color else text

    lines = []
    job = report.job
    if job is None:
        lines.append(f"Import job {report.job_name}: not found")
    else:
        lines.append(f"Import job {job['name']} ({job['api']}, {job['location']})")
        lines.append(f"  state:    {job['state']} (seedctl phase: {job['phase']})")
        if job.get("created_at"):
            lines.append(f"  created:  {job['created_at']}")
        if report.deadline:
            d = report.deadline
            left = (f"passed {describe_span(-d.remaining)} ago" if d.passed else f"{describe_span(d.remaining)} left")
            lines.append(f"  tracking number due: {d.due:%Y-%m-%d %H:%M} UTC ({left})")
        addr = _address_lines(job.get("shipping_address"))
        if addr:
            lines.append("  ship to:  " + addr[0])
            lines.extend("            " + a for a in addr[1:])
        for label, key in (("delivery", "delivery_package"), ("return", "return_package")):
            pkg = job.get(key)
            text = (f"{pkg.get('carrier_name')} {pkg.get('tracking_number')}"
                    + (f", shipped {pkg['ship_date']}" if pkg.get("ship_date") else "")
                    + (f", {pkg['drive_count']} drive(s)" if pkg.get("drive_count") else "")) if pkg else "-"
            lines.append(f"  {label + ' package:':18}{text}")
        if job["drives"]:
            lines.append("")
            lines.append(f"  {'DRIVE':<24} {'STATE':<18} {'COPY STATUS':<22} {'DONE':>5} {'IMPORTED':>10}")
            for d in job["drives"]:
                pct = d.get("percent_complete")
                lines.append(f"  {d['drive_id'] or '-':<24} {d.get('state') or '-':<18} {d.get('copy_status') or '-':<22} "
                             f"{(str(pct) + '%') if pct is not None else '-':>5} "
                             f"{_fmt_bytes(d.get('bytes_succeeded')):>10}")
                if d.get("error_log_uri"):
                    lines.append(f"    {_log_label(job, d)}: {d['error_log_uri']}")
        if report.verified:
            lines.append(f"\n  verified: {report.verified.at} ({report.verified.files} files)")
    lines.append("")
    for n in report.notices:
        text = f"{_MARK[n.level]} {n.text}"
        if n.level == CRITICAL:
            text = paint(text, "1;31")
        elif n.level == ATTENTION:
            text = paint(text, "1;33")
        elif n.level == ACTION:
            text = paint(text, "1")
        lines.append(text)
    return "\n".join(lines) + "\n"
