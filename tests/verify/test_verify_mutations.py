"""Property-based mutations of the committed sets through the reading and validation stage (the
set reader, AWS's refusals, the lab's emulation check, the route-path verifier): whatever a user
or a bad change writes, the outcome is a model, a refusal or one SetError line, never a
traceback."""

from __future__ import annotations

import copy
from pathlib import Path

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from core import cfn_yaml
from lab.support import emulated
from verify import files, reader, routepath, validate
from verify.errors import SetError
from verify.evaluate import evaluate

COMMITTED = Path(__file__).resolve().parents[2] / "output"
SETS = {
    d.relative_to(COMMITTED).as_posix(): cfn_yaml.load_set(d)
    for d in sorted(COMMITTED.glob("*/*"))
    if (d / "CN-GWLB.yml").is_file()
}

# Values a careless edit or an unfamiliar template may leave where a reader expects another.
JUNK = st.one_of(
    st.none(),
    st.integers(-5, 70000),
    st.text(max_size=12),
    st.sampled_from(
        [
            "10.0.0.0/8",
            "10.0.1.0/24",
            "0.0.0.0/0",
            "::/0",
            "not-a-cidr",
            "10.0.1.0/33",
            "",
            "true",
            "GENEVE",
        ]
    ),
    st.just({"Ref": "NoSuchThing"}),
    st.just({"Ref": "AWS::NoValue"}),
    st.just({"Ref": "AWS::Region"}),
    st.just({"Fn::GetAtt": ["NoSuchStack", "Outputs.Nothing"]}),
    st.just({"Fn::ImportValue": "shared-vpc"}),
    st.just({"Fn::If": ["NoSuchCondition", "a", "b"]}),
    st.just({"Fn::Select": [9, {"Fn::GetAZs": ""}]}),
    st.just({"Fn::Sub": ["${Net}", {"Net": {"Ref": "NoSuchThing"}}]}),
    st.just({"Fn::Cidr": ["10.0.0.0/16", 300, 8]}),
    st.just({"Fn::Split": [",", 7]}),
    st.just({"Fn::Join": ["", 7]}),
    st.just({"Fn::Unknown": [1]}),
    st.lists(st.integers(0, 3), max_size=3),
    st.dictionaries(st.sampled_from(["Key", "Value", "Id"]), st.text(max_size=4), max_size=2),
)


@st.composite
def mutated_set(draw) -> dict[str, dict]:
    name = draw(st.sampled_from(sorted(SETS)))
    templates = copy.deepcopy(SETS[name])
    for _ in range(draw(st.integers(1, 3))):
        file = draw(st.sampled_from(sorted(templates)))
        resources = templates[file].get("Resources", {})
        if not resources:
            continue
        logical = draw(st.sampled_from(sorted(resources)))
        resource = resources[logical]
        action = draw(st.sampled_from(["set", "drop", "remove", "type", "copy", "condition"]))
        props = resource.setdefault("Properties", {})
        if action == "set" and isinstance(props, dict):
            key = draw(st.sampled_from(sorted(props) or ["Anything"]))
            props[key] = draw(JUNK)
        elif action == "drop" and isinstance(props, dict) and props:
            del props[draw(st.sampled_from(sorted(props)))]
        elif action == "remove":
            del resources[logical]
        elif action == "type":
            resource["Type"] = draw(
                st.sampled_from(["AWS::EC2::Route", "AWS::EC2::Subnet", "AWS::Bogus::Thing"])
            )
        elif action == "copy":
            resources[logical + "Copy"] = copy.deepcopy(resource)
        else:
            resource["Condition"] = draw(st.sampled_from(["Missing", "Never"]))
            templates[file].setdefault("Conditions", {})["Never"] = {
                "Fn::Equals": ["a", draw(st.sampled_from(["a", "b"]))]
            }
    return templates


def read_and_judge(templates: dict[str, dict]) -> str:
    """The lab's reading and validation stage, without namespaces: 'ok', 'refused' or 'error'."""
    try:
        model = reader.read(evaluate(files.from_templates(templates)))
        if validate.problems(model):
            return "refused"
        emulated(model)
        routepath.problems(model)
    except SetError as exc:
        assert "\n" not in str(exc) and str(exc)
        return "error"
    return "ok"


@settings(
    max_examples=250,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(mutated_set())
def test_no_mutation_escapes_as_a_traceback(templates):
    outcome = read_and_judge(templates)
    event(outcome)  # --hypothesis-show-statistics shows how the mutations were judged
    assert outcome in ("ok", "refused", "error")


def test_the_committed_sets_are_read_and_accepted():
    assert {name: read_and_judge(t) for name, t in SETS.items()} == dict.fromkeys(SETS, "ok")
