"""`seedctl plan` against the sandbox with the real SDK clients (issue 4 acceptance)."""

from __future__ import annotations

import json

import pytest

from worlds import make_world


@pytest.fixture
def world(tmp_path, sandbox):
    return make_world(tmp_path, sandbox)


def test_empty_subscription_plans_everything_in_dependency_order(world):
    result = world.cli("plan", "--json")
    assert result.code == 0, result.err
    plan = json.loads(result.out)
    actions = {c["address"]: c["action"] for c in plan["changes"]}
    assert actions == {
        'provider["Microsoft.ImportExport"]': "update",
        f'resource_group["{world.resource_group}"]': "create",
        f'vault["vault-{world.subscription_id[:8]}"]': "create",
        f'storage_account["sa{world.subscription_id[:8]}"]': "create",
        'container["seed"]': "create",
        'staging["staging"]': "no-op",
        **{f'drive["{s}"]': "create" for s in world.serials},
        f'import_job["{world.job_name}"]': "create",
    }
    order = [c["address"] for c in plan["changes"]]
    # every node comes after what it depends on
    for change in plan["changes"]:
        for dep in change["depends_on"]:
            assert order.index(dep) < order.index(change["address"])
    assert plan["summary"]["add"] == 7 and plan["summary"]["change"] == 1


def test_plan_is_byte_for_byte_stable(world):
    outputs = [(world.cli("plan").out, world.cli("plan", "--json").out, world.cli("plan", "--format", "markdown").out)
               for _ in range(2)]
    assert outputs[0] == outputs[1]
    assert "Plan: 7 to add, 1 to change, 0 to destroy." in outputs[0][0]


def test_detailed_exitcode(world):
    assert world.cli("plan", "--detailed-exitcode").code == 2
    assert world.cli("apply", "--auto-approve").code == 0
    again = world.cli("plan", "--detailed-exitcode")
    assert again.code == 0, again.out
    assert "No changes" in again.out


def test_partially_existing_world_plans_only_what_is_missing(world):
    clients = world.clients()
    clients.resource.providers.register("Microsoft.ImportExport")
    clients.resource.resource_groups.create_or_update(world.resource_group, {"location": "westus"})
    name = world.spec_data["storage_account"]["name"]
    clients.storage.storage_accounts.begin_create(world.resource_group, name, {
        "sku": {"name": "Standard_LRS"}, "kind": "StorageV2", "location": "westus"}).result()
    import time

    deadline = time.monotonic() + 10
    while clients.resource.providers.get("Microsoft.ImportExport").registration_state != "Registered":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    plan = json.loads(world.cli("plan", "--json").out)
    actions = {c["address"]: c["action"] for c in plan["changes"]}
    assert actions['provider["Microsoft.ImportExport"]'] == "no-op"
    assert actions[f'resource_group["{world.resource_group}"]'] == "no-op"
    # the account exists; seedctl did not create it, so only the spec's attributes are compared
    assert actions[f'storage_account["{name}"]'] == "no-op"
    assert actions['container["seed"]'] == "create"
    assert actions[f'import_job["{world.job_name}"]'] == "create"


def test_drift_on_storage_sku_is_shown_and_planned_back(world):
    assert world.cli("apply", "--auto-approve").code == 0
    name = world.spec_data["storage_account"]["name"]
    world.clients().storage.storage_accounts.update(world.resource_group, name, {"sku": {"name": "Standard_GRS"}})
    result = world.cli("plan")
    assert result.code == 0, result.err
    assert f'~ storage_account["{name}"]' in result.out
    assert "Standard_GRS" in result.out and "Standard_LRS" in result.out
    assert "changed outside seedctl" in result.out
    plan = json.loads(world.cli("plan", "--json").out)
    change = next(c for c in plan["changes"] if c["kind"] == "storage_account")
    sku = next(a for a in change["attributes"] if a["name"] == "sku")
    assert sku["drift"] is True and sku["before"] == "Standard_GRS" and sku["after"] == "Standard_LRS"
    # apply puts it back, and then nothing is left to do
    assert world.cli("apply", "--auto-approve").code == 0
    assert world.cli("plan", "--detailed-exitcode").code == 0


def test_spec_change_is_an_update_not_drift(world):
    assert world.cli("apply", "--auto-approve").code == 0
    world.edit_spec(lambda d: d["storage_account"].__setitem__("sku", "Standard_ZRS"))
    plan = json.loads(world.cli("plan", "--json").out)
    change = next(c for c in plan["changes"] if c["kind"] == "storage_account")
    sku = next(a for a in change["attributes"] if a["name"] == "sku")
    assert change["action"] == "update" and sku["drift"] is False


def test_editing_drives_of_a_transferring_job_is_a_plan_error(tmp_path, sandbox):
    world = make_world(tmp_path, sandbox, shipment=True)
    assert world.cli("apply", "--auto-approve").code == 0
    world.sandbox.control.advance_job(world.resource_group, world.job_name, "Transferring",
                                      subscription=world.subscription_id)
    world.edit_spec(lambda d: d["drives"].pop())
    result = world.cli("plan")
    assert result.code == 1
    assert "cannot change in state Transferring" in result.out
    assert f'import_job["{world.job_name}"]' in result.out


def test_job_name_used_by_another_job_is_a_plan_error(world, tmp_path_factory, sandbox):
    assert world.cli("apply", "--auto-approve").code == 0
    world.edit_spec(lambda d: d.__setitem__("name", "some-other-spec"))
    result = world.cli("plan")
    assert result.code == 1
    assert "already used by another job" in result.out


def test_secrets_appear_in_no_plan_output(world, tmp_path):
    keys = [world.key(s) for s in world.serials]
    outputs = [world.cli("plan", *fmt).out for fmt in ([], ["--json"], ["--format", "markdown"])]
    saved = tmp_path / "saved.json"
    assert world.cli("plan", "--out", str(saved)).code == 0
    outputs.append(saved.read_text())
    outputs.append(world.cli("show", str(saved), "--json").out)
    assert all(outputs)
    for text in outputs:
        for key in keys:
            assert key not in text
            assert key.replace("-", "") not in text
    assert "(sensitive)" in outputs[0]


def test_local_state_skip_defers_drives_and_staging_but_plans_azure(world):
    result = world.cli("plan", "--local-state", "skip", "--json")
    assert result.code == 0, result.err
    plan = json.loads(result.out)
    actions = {c["kind"]: c["action"] for c in plan["changes"]}
    # staging is an input, never changed: unobserved, it is no change, just not seen here
    staging = next(c for c in plan["changes"] if c["kind"] == "staging")
    assert staging["action"] == "no-op" and "--local-state=skip" in staging["deferred_reason"]
    assert actions["drive"] == "deferred"
    assert actions["storage_account"] == "create"
    text = world.cli("plan", "--local-state", "skip").out
    assert "refreshed at apply" in text


def test_unattached_drive_is_deferred_not_empty(world):
    import shutil

    shutil.rmtree(world.drive_path(world.serials[1]))
    plan = json.loads(world.cli("plan", "--json").out)
    change = next(c for c in plan["changes"] if c["address"] == f'drive["{world.serials[1]}"]')
    assert change["action"] == "deferred"
    assert "not attached" in change["deferred_reason"]
    required = world.cli("plan", "--local-state", "require")
    assert required.code == 1


def test_target_limits_the_plan_to_a_node_and_its_dependencies(world):
    plan = json.loads(world.cli("plan", "--json", "--target", "container").out)
    kinds = sorted({c["kind"] for c in plan["changes"]})
    assert kinds == ["container", "resource_group", "storage_account"]
    bad = world.cli("plan", "--target", "nothing-like-this")
    assert bad.code == 1 and "matches no node" in bad.err
