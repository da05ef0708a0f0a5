"""A return-address change on an existing job (issue 14, item 5): both job APIs replace all of a
job's tags on update, so seedctl sends the merged set; `seedctl-created` (status's two-week
countdown) and a tag someone added in the portal survive, and the plan afterwards is empty."""

from __future__ import annotations

import json
from typing import Any

from seedctl.planner import make_context
from seedctl.resources.jobs import backend_for
from seedctl.spec import load_spec


def job_tags(ws: Any) -> dict[str, str]:
    env, _, _ = ws.env()
    spec = load_spec(ws.spec_path)
    job = backend_for(ws.api).get(make_context(spec, env), spec.job_resource_group, spec.import_job.name)
    return job["tags"]


def add_portal_tag(ws: Any) -> None:
    """Someone tags the job by hand (a PATCH of tags only, as the portal sends, with the full set)."""
    env, _, _ = ws.env()
    spec = load_spec(ws.spec_path)
    clients = make_context(spec, env).clients
    tags = {**job_tags(ws), "costcenter": "42"}
    rg, name = spec.job_resource_group, spec.import_job.name
    if ws.api == "databox":
        clients.databox.jobs.begin_update(rg, name, {"tags": tags}).result()
    else:
        clients.importexport.jobs.update(name, rg, {"tags": tags})


def test_return_address_change_keeps_the_jobs_tags(workspace: Any) -> None:
    ws = workspace
    r = ws.run("apply", "--auto-approve")
    assert r.rc == 0, r.out + r.err
    created = job_tags(ws)["seedctl-created"]
    add_portal_tag(ws)

    data = ws.data
    data["import_job"]["return_address"]["street1"] = "2 Sandbox Street"
    ws.write_spec(data)
    r = ws.run("plan", "--detailed-exitcode")
    assert r.rc == 2 and "return_address" in r.out, r.out + r.err
    r = ws.run("apply", "--auto-approve")
    assert r.rc == 0, r.out + r.err

    tags = job_tags(ws)
    assert tags.get("seedctl-created") == created, tags
    assert tags.get("costcenter") == "42" and tags.get("seedctl-spec") == data["name"], tags
    status = json.loads(ws.run("status", "--json").out)
    assert status["job"]["created_at"] == created and status["deadline"] is not None
    r = ws.run("plan", "--detailed-exitcode")
    assert r.rc == 0, r.out + r.err
