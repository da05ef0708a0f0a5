"""The two import-job back ends behind one interface (see `base.JobBackend`):
classic `Microsoft.ImportExport/jobs` and Data Box customer-disk `Microsoft.DataBox/jobs`.

Registry: `backend_for(api)` is the one place that lists the implementations.
"""

from __future__ import annotations

from seedctl.resources.jobs.base import JobBackend


def backend_for(api: str) -> JobBackend:
    if api == "importexport":
        from seedctl.resources.jobs.importexport import ImportExportBackend

        return ImportExportBackend()
    if api == "databox":
        from seedctl.resources.jobs.databox import DataBoxBackend

        return DataBoxBackend()
    raise ValueError(f"unknown import job api {api!r}")
