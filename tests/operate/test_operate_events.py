"""Root cause and the nested tree, from recorded event histories written as fixtures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from operate.events import STACK_TYPE, Event, build_tree, walk
from operate.failures import failures, root_cause
from tests.operate.replay import Recording

T0 = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


def test_nested_failure_names_the_instance_in_the_deleted_web_stack():
    recording = Recording("nested_create_failure.json")
    cause = root_cause(recording.events(), recording.root_id)
    assert cause is not None
    assert cause.path == ("gwlb-demo", "WebStack", "WebServer1")
    assert cause.resource_type == "AWS::EC2::Instance"
    assert cause.status == "CREATE_FAILED"
    assert cause.reason == "Failed to receive 1 resource signal(s) within the specified duration"
    assert cause.stack_name == "gwlb-demo-WebStack-K3V9ZD"
    assert cause.stack_deleted  # the rollback deleted the web stack
    # in progress from t=603, failed at t=1503
    assert cause.elapsed_seconds == 900.0


def test_cascades_are_not_failures():
    recording = Recording("nested_create_failure.json")
    found = failures(recording.events(), recording.root_id)
    # WebServer2 was only cancelled, WebStack and the root only report WebServer1's failure.
    assert [f.logical_id for f in found] == ["WebServer1"]


def test_deep_update_failure_two_levels_down_comes_first():
    recording = Recording("deep_update_rollback.json")
    found = failures(recording.operation_events(), recording.root_id)
    assert [f.path for f in found] == [
        ("edge", "InspectionStack", "PolicyStack", "ApplianceLaunchTemplate"),
        ("edge", "RoutesStack", "RouteToEndpoint2"),
    ]
    assert "16384 bytes" in found[0].reason
    assert not found[0].stack_deleted  # an update rollback keeps its nested stacks


def test_earlier_operations_do_not_leak_into_the_root_cause():
    recording = Recording("deep_update_rollback.json")
    found = failures(recording.events(), recording.root_id)
    # Over the whole history the old create failure is the oldest; the boundary is what hides it.
    assert found[0].reason == "An old failure from a previous operation"


def test_delete_failure_in_nested_stack():
    recording = Recording("delete_failed.json")
    cause = root_cause(recording.operation_events(), recording.root_id)
    assert cause is not None
    assert cause.path == ("lab", "NetworkStack", "ApplianceSecurityGroup")
    assert "dependent object" in cause.reason
    assert cause.elapsed_seconds == 901.0


def _event(n, stack, logical, status, reason="", t=0, kind="AWS::EC2::Subnet", physical=""):
    return Event(
        event_id=f"e{n}",
        stack_id=stack,
        stack_name=stack.split("/")[1] if "/" in stack else stack,
        logical_id=logical,
        physical_id=physical,
        resource_type=kind,
        status=status,
        reason=reason,
        timestamp=T0 + timedelta(seconds=t),
    )


ROOT = "arn:aws:cloudformation:us-east-1:1:stack/r/1"
CHILD = "arn:aws:cloudformation:us-east-1:1:stack/r-Child-X/2"


def test_a_nested_stack_that_never_started_is_its_own_root_cause():
    events = [
        _event(1, ROOT, "r", "CREATE_IN_PROGRESS", "User Initiated", 0, STACK_TYPE, ROOT),
        _event(2, ROOT, "Child", "CREATE_FAILED", "S3 error: Access Denied", 5, STACK_TYPE),
        _event(
            3,
            ROOT,
            "r",
            "ROLLBACK_IN_PROGRESS",
            "The following resource(s) failed to create: [Child].",
            6,
            STACK_TYPE,
            ROOT,
        ),
    ]
    cause = root_cause(events, ROOT)
    assert cause is not None
    assert (cause.path, cause.reason) == (("r", "Child"), "S3 error: Access Denied")


def test_a_stack_level_reason_is_the_last_resort():
    events = [
        _event(1, ROOT, "r", "UPDATE_IN_PROGRESS", "User Initiated", 0, STACK_TYPE, ROOT),
        _event(
            2,
            ROOT,
            "r",
            "UPDATE_ROLLBACK_IN_PROGRESS",
            "Parameter validation failed: "
            "parameter value ed-key for parameter name KeyPairName does not exist",
            3,
            STACK_TYPE,
            ROOT,
        ),
        _event(3, ROOT, "r", "UPDATE_ROLLBACK_COMPLETE", "", 9, STACK_TYPE, ROOT),
    ]
    cause = root_cause(events, ROOT)
    assert cause is not None and "KeyPairName" in cause.reason


def test_on_a_tie_the_deeper_failure_comes_first():
    events = [
        _event(1, ROOT, "r", "CREATE_IN_PROGRESS", "", 0, STACK_TYPE, ROOT),
        _event(2, ROOT, "Child", "CREATE_IN_PROGRESS", "", 1, STACK_TYPE, CHILD),
        _event(3, CHILD, "r-Child-X", "CREATE_IN_PROGRESS", "", 1, STACK_TYPE, CHILD),
        _event(4, ROOT, "Shallow", "CREATE_FAILED", "shallow reason", 7),
        _event(5, CHILD, "Deep", "CREATE_FAILED", "deep reason", 7),
    ]
    assert [f.reason for f in failures(events, ROOT)] == ["deep reason", "shallow reason"]


def test_nothing_failed_means_no_root_cause():
    events = [
        _event(1, ROOT, "r", "CREATE_IN_PROGRESS", "", 0, STACK_TYPE, ROOT),
        _event(2, ROOT, "Vpc", "CREATE_COMPLETE", "", 4, "AWS::EC2::VPC"),
        _event(3, ROOT, "r", "CREATE_COMPLETE", "", 5, STACK_TYPE, ROOT),
    ]
    assert root_cause(events, ROOT) is None


def test_tree_hangs_each_nested_stack_under_its_resource_with_elapsed_times():
    recording = Recording("nested_create_failure.json")
    tree = build_tree(recording.events(), recording.root_id)
    assert tree.name == "gwlb-demo" and tree.status == "ROLLBACK_COMPLETE"
    assert list(tree.resources) == ["SSMRoleStack", "NetworkStack", "WebStack"]
    network = tree.resources["NetworkStack"].stack
    assert network is not None and network.name == "gwlb-demo-NetworkStack-7HC2PL"
    nat = network.resources["NatGateway1"]
    now = T0 + timedelta(hours=5)
    # NAT: created 190 -> 290; the node shows its latest phase, the rollback's delete 1574 -> 1640.
    assert nat.status == "DELETE_COMPLETE" and nat.started == T0 + timedelta(seconds=1574)
    assert nat.elapsed(now) == 66.0
    assert tree.resources["WebStack"].stack.resources["WebServer1"].failure.startswith("Failed")
    paths = [path for path, _ in walk(tree)]
    assert ("gwlb-demo", "WebStack") in paths and len(paths) == 4
    web = tree.resources["WebStack"].stack
    assert web is not None and web.deleted


def test_tree_links_moto_style_nested_stacks_by_name():
    from operate.events import Link

    events = [
        _event(1, ROOT, "r", "CREATE_IN_PROGRESS", "", 0, STACK_TYPE, ROOT),
        _event(2, CHILD, "r-Child-X", "CREATE_IN_PROGRESS", "", 1, STACK_TYPE, CHILD),
        _event(3, CHILD, "r-Child-X", "CREATE_COMPLETE", "", 3, STACK_TYPE, CHILD),
        _event(4, ROOT, "r", "CREATE_COMPLETE", "", 4, STACK_TYPE, ROOT),
    ]
    tree = build_tree(events, ROOT, [Link(ROOT, "Child", "r-Child-X")])
    child = tree.resources["Child"].stack
    assert child is not None and child.stack_id == CHILD and child.status == "CREATE_COMPLETE"
