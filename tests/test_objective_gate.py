"""The static gate on its own: what it lets through, what it refuses, and that it names line and rule.

The hostile corpus (test_sandbox_hostile.py) covers one attack per file through the whole validator;
these tests pin down the gate's rules where a reader of `check_source` would look for them, including
the cases it must NOT refuse (ordinary objectives written in the styles an LLM uses).
"""

import pytest

from discovery.objectives import PARAMETERS, load_objective, shipped_names
from discovery.objectives.compile import ObjectiveRejected, compile_objective
from discovery.objectives.gate import MAX_SOURCE_CHARS, check_source, safe_builtins

SIGNATURE = f"def loss({', '.join(PARAMETERS)}):"


def objective(*body: str, header: str = "import torch\nimport torch.nn.functional as F\n") -> str:
    return header + SIGNATURE + "\n" + "\n".join(f"    {line}" for line in body) + "\n"


def rules(source: str) -> list[str]:
    return [str(v) for v in check_source(source)]


@pytest.mark.parametrize("name", shipped_names())
def test_shipped_objectives_pass_the_gate(name):
    assert check_source(load_objective(name).source) == []


@pytest.mark.parametrize(
    "body",
    [
        ["rho = (policy_chosen_logps - reference_chosen_logps)",
         "rho = rho - (policy_rejected_logps - reference_rejected_logps)",
         "return F.softplus(-beta * rho)"],
        ["z = beta * (policy_chosen_logps - policy_rejected_logps)",
         "scale = max(0.1, min(abs(beta), 1.0))",
         "weights = [float(i) for i in range(3)]",
         "blend = torch.where(z > 0, torch.special.expit(-z), torch.nn.functional.relu(1 - z))",
         "return blend * scale + sum(weights) * 0"],
        ["def inner(value):", "    return -torch.log(torch.sigmoid(value) + math.exp(-30))",
         "return inner(beta * (policy_chosen_logps - policy_rejected_logps))"],
        ['"""A docstring may mention __init__ and other dunders."""',
         "return -F.logsigmoid(beta * (policy_chosen_logps - policy_rejected_logps))"],
    ],
    ids=["softplus", "builtins-and-submodules", "inner-function-and-math", "docstring-with-dunders"],
)  # fmt: skip
def test_ordinary_objectives_pass(body):
    assert (
        rules(objective(*body, header="import math\nimport torch\nimport torch.nn.functional as F\n")) == []
    )


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (["return torch.os.getcwd()"], "line 4: `torch.os` is the module `os`, which is not allowed"),
        (["return F.importlib"], "line 4: `F.importlib` is the module `importlib`, which is not allowed"),
        (["module = torch.nn", "return module"], "line 4: module `torch.nn` may only be used as"),
        (["return [torch][0]"], "line 4: module `torch` may only be used as `torch.<function>`"),
        (["torch = 1", "return torch"], "line 4: rebinding the module name `torch` is not allowed"),
        (["return torch.logsigmoidd(beta)"], "line 4: `torch.logsigmoidd` does not exist"),
        (["return torch.PyTorchFileWriter('x')"], "line 4: `torch.PyTorchFileWriter` is a class"),
        (["return torch.get_device_module('cpu')"], "line 4: `.get_device_module` is not allowed"),
        (["return [torch.exp][0].os"], "line 4: `.os` is not allowed (it is the name of a module)"),
        (["return beta.real.__class__"], "line 4: attribute `.__class__` is not allowed"),
        (["return '{0.real}'.format(beta)"], "line 4: `.format` is not allowed (introspection"),
        (["return torch.set_default_dtype(torch.float64)"], "line 4: `.set_default_dtype` is not allowed"),
        (["F.logsigmoid = None"], "line 4: assigning to or deleting `.logsigmoid` is not allowed"),
        (["del torch.exp"], "line 4: assigning to or deleting `.exp` is not allowed"),
        (["global beta"], "line 4: `global` is not allowed"),
        (["yield beta"], "line 4: `yield` is not allowed"),
        (["return vars()"], "line 4: name `vars` is not available"),
        (["return breakpoint()"], "line 4: name `breakpoint` is not available"),
        (["return (lambda x=print: x)()"], "line 4: default argument values are not allowed"),
    ],
)  # fmt: skip
def test_each_rule_names_its_line(body, expected):
    assert any(rule.startswith(expected) for rule in rules(objective(*body))), rules(objective(*body))


def test_syntax_error_names_its_line():
    assert rules(objective("return (beta")) == ["line 4: syntax error: '(' was never closed"]


def test_oversized_and_deeply_nested_source_is_refused_without_crashing():
    assert rules("#" * (MAX_SOURCE_CHARS + 1)) == [f"source is longer than {MAX_SOURCE_CHARS} characters"]
    for deep in ("(" * 5000 + "beta" + ")" * 5000, "-" * 15000 + "beta"):
        assert rules(objective(f"return {deep}")), "nesting too deep must be refused, not crash the gate"


def test_from_import_of_functional_binds_an_alias():
    assert (
        rules(objective("return nnf.logsigmoid(beta)", header="from torch.nn import functional as nnf\n"))
        == []
    )


def test_trainer_compile_refuses_what_the_gate_refuses():
    with pytest.raises(ObjectiveRejected, match=r"line 4: `torch.os` is the module `os`"):
        compile_objective(objective("return torch.os.getcwd()"))


def test_safe_builtins_hold_nothing_that_reaches_the_interpreter():
    table = safe_builtins()
    for name in ("open", "getattr", "eval", "exec", "compile", "globals", "vars", "type", "object", "print"):
        assert name not in table
    with pytest.raises(ImportError):
        table["__import__"]("os")
