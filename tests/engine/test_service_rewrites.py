"""Issue 24, item 3 (acceptance): after a whole datacenter walk in which the sandbox rewrites what it
stores as the services do (Data Box: "Ups", an upper-cased street; classic: the US ship-date form),
`plan --detailed-exitcode` exits 0 on both back ends."""

from __future__ import annotations

import pytest

from worlds import make_world


@pytest.mark.parametrize("api", ["importexport", "databox"])
def test_no_change_after_the_datacenter_walk(tmp_path, sandbox, api):
    world = make_world(tmp_path, sandbox, api=api)
    world.edit_spec(lambda d: d["import_job"]["return_address"].__setitem__("street1", "1  Test   Way"))
    assert world.cli("apply", "--auto-approve").code == 0
    shipment = {"carrier_name": "UPS" if api == "databox" else "FedEx", "tracking_number": "1Z999AA1",
                "ship_date": "2026-11-26"}
    world.edit_spec(lambda d: d.__setitem__("shipment", shipment))
    shipped = world.cli("apply", "--auto-approve")
    assert shipped.code == 0, shipped.out + shipped.err
    jobs = world.clients()
    if api == "databox":
        job = jobs.databox.jobs.get(world.resource_group, world.job_name, expand="details").as_dict()
        details = job["properties"]["details"]
        assert details["deliverToDcPackageDetails"]["carrierName"] == "Ups"
        assert details["shippingAddress"]["streetAddress1"] == "1 TEST WAY"
    else:
        job = jobs.importexport.jobs.get(world.job_name, world.resource_group)
        assert job["properties"]["deliveryPackage"]["shipDate"] == "11/26/2026 12:00:00 AM"
    assert world.cli("plan", "--detailed-exitcode").code == 0
    sandbox.control.advance_job(world.resource_group, world.job_name, "Completed", subscription=world.subscription_id)
    final = world.cli("plan", "--detailed-exitcode")
    assert final.code == 0, final.out + final.err
