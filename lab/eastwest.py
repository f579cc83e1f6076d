"""Step 3 east-west, for sets whose VPCs reach each other through a transit gateway: every served
host to every served host of another VPC that its route table sends to the TGW, both ways and in
every AZ pairing, ICMP and HTTP. Each row names the endpoint and appliance of each direction:
without appliance mode on the inspection attachment, a flow between AZs crosses one AZ's endpoint
out and the other's back, and the stateful appliance there drops the reply."""

from __future__ import annotations

from lab import transit
from lab.judging import need_one
from lab.plan import Plan, Task

STEP = "3 east-west"


def step(plan: Plan) -> None:
    model = plan.model
    webs = sorted(plan.roles.served, key=lambda h: h.name)
    tasks: list[Task] = []
    for src in webs:
        for dst in webs:
            if model.vpc_of(src.subnet) == model.vpc_of(dst.subnet):
                continue
            if not transit.via_tgw(model, src.subnet, plan.node(dst.id).ip):
                continue
            zones = f" ({model.subnets[src.subnet].az} -> {model.subnets[dst.subnet].az})"
            tasks += plan.pair(src, dst, zones, transfers=False)
    if not tasks:
        return
    rows = plan.run_all(tasks, STEP)
    plan.rows += need_one(rows, lambda row: row.flow.split(" (")[0], STEP)
