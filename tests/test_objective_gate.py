"""The static gate on its own: what it lets through, what it refuses, and that it names line and rule.

The hostile corpus (test_sandbox_hostile.py) covers one attack per file through the whole validator;
these tests pin down the gate's rules where a reader of `check_source` would look for them, including
the cases it must NOT refuse (ordinary objectives written in the styles an LLM uses).
"""

import inspect
import math

import pytest
import torch

from discovery.objectives import PARAMETERS, allowlist, load_objective, shipped_names
from discovery.objectives.allowlist import BUILTINS
from discovery.objectives.compile import ObjectiveRejected, compile_objective
from discovery.objectives.gate import (
    MAX_DEPTH,
    MAX_LINES,
    MAX_NODES,
    MAX_SOURCE_CHARS,
    check_source,
    safe_builtins,
)

SIGNATURE = f"def loss({', '.join(PARAMETERS)}):"
HEADER = "import math\nimport torch\nimport torch.nn.functional as F\n"


def objective(*body: str, header: str = HEADER) -> str:
    return header + SIGNATURE + "\n" + "\n".join(f"    {line}" for line in body) + "\n"


def rules(source: str) -> list[str]:
    return [str(v) for v in check_source(source)]


def assert_refused(source: str, expected: str) -> None:
    found = rules(source)
    assert any(rule.startswith(expected) for rule in found), found


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
         "blend = torch.where(z > 0, torch.special.expit(-z), torch.nn.functional.relu(1 - z))",
         "return blend * scale + math.log(2.0) * 0"],
        ['"""A docstring may mention __init__ and other dunders."""',
         "return -F.logsigmoid(beta * (policy_chosen_logps - policy_rejected_logps))"],
        ["z = beta * (policy_chosen_logps - policy_rejected_logps)",
         '"A bare string works as a comment."',
         "low, high = z.amin(), torch.max(z, dim=0).values",
         "eps = torch.finfo(z.dtype).eps",
         "total = torch.zeros_like(z)",
         "for k in range(1, 4):",
         "    total += torch.exp(-k * z.clamp(min=-10.0)) / k",
         "if beta > 0.5:",
         "    total = total / 2",
         "elif beta < 0.01:",
         "    pass",
         "else:",
         "    total = total * 1.0",
         "weight = torch.sigmoid(z).detach() if z.shape[0] > 1 else 1.0",
         "stacked = torch.stack([total, -F.logsigmoid(z)], dim=0)",
         "return (weight * stacked.mean(dim=0) + 0 * (high - low) + eps * z[:, None][:, 0]).to(z.dtype)"],
    ],
    ids=["softplus", "builtins-and-namespaces", "docstring-with-dunders", "loop-branches-and-methods"],
)  # fmt: skip
def test_ordinary_objectives_pass_and_run(body):
    source = objective(*body)
    assert rules(source) == []
    losses = compile_objective(source)(*(-10 * torch.rand(4) for _ in range(4)), 0.1)
    assert losses.shape == (4,) and torch.isfinite(losses).all()


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (["return torch.os.getcwd()"], "line 5: `torch.os` is not one of the allowed torch functions"),
        (["return F.importlib"], "line 5: `F.importlib` is not one of the allowed F functions"),
        (["module = torch.nn", "return module"], "line 5: module `torch.nn` may only be used as"),
        (["return torch.nn.Module"], "line 5: `torch.nn.Module` is not allowed: of `torch.nn`, only"),
        (["return [torch][0]"], "line 5: module `torch` may only be used as `torch.<function>`"),
        (["torch = 1", "return torch"], "line 5: rebinding the module name `torch` is not allowed"),
        (["return torch.sigmoidd(beta)"],
         "line 5: `torch.sigmoidd` is not one of the allowed torch functions (did you mean `sigmoid`?)"),
        (["return torch.softplus(beta)"],
         "line 5: `torch.softplus` is not one of the allowed torch functions; use `F.softplus`"),
        (["return beta.logsigmoid()"],
         "line 5: `.logsigmoid` is not one of the allowed tensor methods; use `F.logsigmoid`"),
        (["return torch.PyTorchFileWriter(beta)"],
         "line 5: `torch.PyTorchFileWriter` is not one of the allowed"),
        (["return beta.real.__class__"], "line 5: `.real` is not one of the allowed tensor methods"),
        (["return beta.__class__"], "line 5: `.__class__` is not allowed (private and dunder attributes"),
        (["return torch.set_default_dtype(torch.float64)"],
         "line 5: `torch.set_default_dtype` is not one of"),
        (["return sigmoid(beta)"],
         "line 5: name `sigmoid` is not available (did you mean `torch.sigmoid`?)"),
        (["margin = beta", "return margni"],
         "line 6: name `margni` is not available (did you mean `margin`?)"),
        (["return vars()"], "line 5: name `vars` is not available (only the parameters, local variables"),
        (["return breakpoint()"], "line 5: name `breakpoint` is not available"),
        (["return loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, "
          "reference_rejected_logps, beta)"], "line 5: `loss` may not call itself"),
        (["return float('inf') * beta"], "line 5: strings are only allowed as docstrings (for `float('inf')` "
                                         "write `math.inf`)"),
        (["return beta + 1j"], "line 5: complex constants are not allowed"),
        (["return beta << 2"], "line 5: the `LShift` operator is not allowed"),
        (["return torch.clamp(beta, minimum=0)"],
         "line 5: keyword `minimum=` is not one of the allowed keyword names"),
        (["return torch.clamp(beta, **{})"], "line 5: `**` unpacking is not allowed"),
        (["return torch.stack(*[beta])"], "line 5: `*` unpacking is not allowed"),
        (["beta"], "line 5: an expression on a line of its own has no effect"),
    ],
)  # fmt: skip
def test_each_rule_names_its_line(body, expected):
    assert_refused(objective(*body), expected)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (["while True:", "    pass"], "`while` loops are not allowed in an objective"),
        (["try:", "    pass", "except Exception:", "    pass"], "`try` is not allowed"),
        (["with torch.no_grad():", "    pass"], "`with` is not allowed"),
        (["raise ValueError"], "`raise` is not allowed"),
        (["assert beta > 0"], "`assert` is not allowed"),
        (["del beta"], "`del` is not allowed"),
        (["global beta"], "`global` is not allowed"),
        (["yield beta"], "`yield` is not allowed"),
        (["def inner(value):", "    return value", "return inner(beta)"], "nested functions are not allowed"),
        (["class Sneaky:", "    pass"], "class definitions are not allowed"),
        (["return (lambda x=print: x)()"], "`lambda` is not allowed"),
        (["return sum([beta for _ in range(3)])"], "comprehensions are not allowed"),
        (["return sum(beta for _ in range(3))"], "comprehensions are not allowed"),
        (["return (scale := beta)"], "the walrus operator `:=` is not allowed"),
        (["return f'{beta}'"], "f-strings are not allowed"),
        (["return {'a': beta}"], "dict displays are not allowed"),
        (["scale: float = beta"], "annotated assignments are not allowed"),
        (["for k in range(3):", "    break"], "line 6: `break` is not allowed"),
        (["for k in [1, 2]:", "    pass"], "the only loop allowed is `for name in range(...):`"),
        (["for k in range(3):", "    pass", "else:", "    pass"], "line 8: `for ... else` is not allowed"),
    ],
)  # fmt: skip
def test_syntax_outside_the_subset_is_refused(body, expected):
    expected = expected if expected.startswith("line ") else f"line 5: {expected}"
    assert_refused(objective(*body, "return beta"), expected)


def test_top_level_allows_only_a_docstring_the_three_imports_and_loss():
    assert_refused(objective("return beta", header="import os\n"), "line 1: import of `os` is not allowed")
    assert_refused(
        objective("return beta", header="import torch.nn.functional as nnf\n"),
        "line 1: `torch.nn.functional` may only be imported as `import torch.nn.functional as F`",
    )
    assert_refused(objective("return beta", header="x = 1\n"), "line 1: only imports, a docstring and one")
    assert_refused(objective("return beta", header='"""doc"""\n"""again"""\n'), "line 2: only imports")
    two = objective("return beta") + "\n\ndef helper(x):\n    return x\n"
    assert_refused(two, "define exactly one top-level function named `loss` (found: loss, helper)")
    decorated = objective("return beta", header="@torch.no_grad()\n")
    assert_refused(decorated, "line 1: decorators are not allowed (they run when the function is defined)")
    defaults = objective("return b", header="").replace("beta):", "b, beta=torch.ones(10**9)):")
    assert_refused(defaults, "line 1: default argument values are not allowed")
    annotated = objective("return beta", header="").replace("):", ") -> torch.Tensor:")
    assert_refused(annotated, "line 1: annotations are not allowed")


# --- the attack classes that got past the deny-list gate -----------------------------------------


def test_constructs_that_name_attributes_without_an_attribute_node_are_refused():
    """`match` class patterns, `from` imports and keyword names look attributes up by name."""
    match = ["match F.logsigmoid:", "    case object(__globals__=namespace):", "        pass"]
    assert_refused(objective(*match, "return beta"), "line 5: `match` is not allowed in an objective")
    assert_refused(
        objective("return beta", header="from torch import ops\n"),
        "line 1: `from torch import ops` is not allowed (the only imports are",
    )
    assert_refused(
        objective("return beta", header="from torch.nn.functional import torch\n"),
        "line 1: `from torch.nn.functional import torch` is not allowed",
    )
    assert_refused(
        objective("return torch.exp(beta, globals=None)"), "line 5: keyword `globals=` is not one of"
    )


def test_imports_inside_the_body_are_refused_even_at_column_zero():
    source = objective("scale = 1.0; \\\nfrom torch import os", "return os.getcwd()")
    assert_refused(source, "line 6: imports are only allowed at the top of the file")
    assert_refused(objective("import math", "return beta"), "line 5: imports are only allowed at the top")


@pytest.mark.parametrize(
    ("expression", "refused"),
    [
        ("beta.storage_type()", "`.storage_type`"),
        ("beta.type(torch.float32)", "`.type`"),
        ("torch.cond(beta > 0, torch.exp, torch.exp, (beta,))", "`torch.cond`"),
        ("torch.quantized_lstm", "`torch.quantized_lstm`"),
        ("beta.ag_code", "`.ag_code`"),
        ("torch.ops.aten", "`torch.ops`"),
        ("torch.library", "`torch.library`"),
        ("torch.utils.cpp_extension", "`torch.utils`"),
        ("torch.Tensor.add", "`torch.Tensor`"),
        ("math.factorial(10**8)", "`math.factorial`"),
    ],
)
def test_public_torch_names_outside_the_allow_list_are_refused(expression, refused):
    assert_refused(objective(f"return {expression}"), f"line 5: {refused} is not one of the allowed")


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        ("F.reproducibility_notes[0] = beta", "assigning to `F.reproducibility_notes[...]` is not allowed"),
        ("policy_chosen_logps[0] = beta", "assigning to `policy_chosen_logps[...]` is not allowed"),
        ("F.logsigmoid = torch.exp", "assigning to `.logsigmoid` is not allowed: only local names"),
        ("torch.Tensor.add += 1", "assigning to `.add` is not allowed"),
        ("beta.real, scale = 1, 2", "assigning to `.real` is not allowed"),
        ("del torch.exp", "`del` is not allowed"),
    ],
)
def test_only_local_names_may_be_assigned(statement, expected):
    assert_refused(objective(statement, "return beta"), f"line 5: {expected}")


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        ("graph = beta.grad_fn", "`.grad_fn` reaches the autograd graph"),
        ("handle = policy_chosen_logps.register_hook(torch.exp)", "`.register_hook` reaches the autograd"),
        ("done = beta.sum().backward()", "`.backward` reaches the autograd graph"),
        ("gradient = policy_chosen_logps.grad", "`.grad` reaches the autograd graph"),
        ("kept = policy_chosen_logps.retain_grad()", "`.retain_grad` reaches the autograd graph"),
        ("leaf = policy_chosen_logps.requires_grad_()", "`.requires_grad_` reaches the autograd graph"),
        ("raw = policy_chosen_logps.data", "`.data` reaches the autograd graph"),
        ("leaf = torch.tensor(1.0, requires_grad=True)", "keyword `requires_grad=` reaches the autograd"),
        ("scaled = policy_chosen_logps.mul_(2)", "`.mul_` changes a tensor in place: use `mul`"),
        ("clamped = beta.clamp_(min=0)", "`.clamp_` changes a tensor in place"),
        ("out = torch.exp(beta, out=policy_chosen_logps)", "keyword `out=` writes into an existing tensor"),
        ("out = F.relu(beta, inplace=True)", "keyword `inplace=` writes into an existing tensor"),
        (
            "out = F.relu(beta, True)",
            "argument 2 of `F.relu` is its `inplace`, which writes into an existing",
        ),
        (
            "out = torch.norm(beta, 2, 0, False, policy_chosen_logps)",
            "argument 5 of `torch.norm` is its `out`, which writes into an existing tensor",
        ),
        (
            "out = torch.nn.functional.hardtanh(beta, -1.0, 1.0, True)",
            "argument 4 of `torch.nn.functional.hardtanh` is its `inplace`",
        ),
        (
            "policy_chosen_logps += 1",
            "`policy_chosen_logps += ...` changes the caller's tensor in place: write `new_name = "
            "policy_chosen_logps + ...` instead",
        ),
        ("noise = torch.rand_like(beta)", "`torch.rand_like` draws random numbers"),
        ("noise = F.dropout(beta)", "`F.dropout` draws random numbers"),
    ],
)
def test_the_autograd_graph_in_place_writes_and_randomness_are_refused(statement, expected):
    assert_refused(objective(statement, "return beta"), f"line 5: {expected}")


def test_every_allowed_function_that_writes_in_place_by_position_is_known_to_the_gate():
    """The gate's table of positional `out` / `inplace` parameters is torch's own: a torch release that
    adds one to an allowed function fails here, not silently in the gate."""
    modules = {"torch": torch, "torch.special": torch.special, "F": torch.nn.functional}
    found = {}
    for namespace in (allowlist.TORCH, allowlist.SPECIAL, allowlist.FUNCTIONAL):
        for name in namespace.names:
            try:
                parameters = list(
                    inspect.signature(getattr(modules[namespace.spelling], name)).parameters.values()
                )
            except (TypeError, ValueError):  # a builtin without a signature: `out` is keyword-only there
                continue
            for index, parameter in enumerate(parameters):
                positional = parameter.kind in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD)
                if positional and parameter.name in allowlist.IN_PLACE_KEYWORDS:
                    found[(namespace.spelling, name)] = (index, parameter.name)
    assert found == allowlist.POSITIONAL_IN_PLACE
    assert rules(objective("kept = F.relu(beta)", "return torch.norm(kept, 2, 0, False)")) == []


# --- limits: a clear rejection, never a crash -----------------------------------------------------


@pytest.mark.parametrize(
    "expression",
    [
        "-" * 3000 + "beta",
        "-" * 19000 + "beta",
        "not " * 3000 + "beta",
        "beta" + ".real" * 3000,
        "+".join(["beta"] * 900),
        "(" * 5000 + "beta" + ")" * 5000,
        "beta if beta else " * 600 + "beta",
    ],
    ids=["unary-3000", "unary-19000", "not", "attributes", "long-sum", "parentheses", "conditional"],
)
def test_deep_nesting_is_refused_without_crashing(expression):
    found = rules(objective(f"return {expression}"))
    assert len(found) == 1 and ("nested too deeply" in found[0] or "parenthes" in found[0]), found


def test_nesting_within_the_limit_passes():
    assert rules(objective("return " + "-" * (MAX_DEPTH - 10) + "beta")) == []


def test_size_limits_are_refused_with_a_reason():
    assert rules("#" * (MAX_SOURCE_CHARS + 1)) == [f"source is longer than {MAX_SOURCE_CHARS} characters"]
    assert rules("\n" * (MAX_LINES + 1)) == [f"source is longer than {MAX_LINES} lines"]
    many = objective("return [" + "beta," * (MAX_NODES // 2) + "]")
    assert rules(many) == [f"source has more than {MAX_NODES} syntax nodes: write a shorter objective"]


def test_syntax_error_and_null_bytes_name_the_problem():
    assert rules(objective("return (beta")) == ["line 5: syntax error: '(' was never closed"]
    (null_bytes,) = rules(objective("return beta\0"))
    assert "null bytes" in null_bytes


# --- where the gate's verdict is enforced ---------------------------------------------------------


def test_trainer_compile_refuses_what_the_gate_refuses():
    with pytest.raises(
        ObjectiveRejected, match=r"line 5: `torch.os` is not one of the allowed torch functions"
    ):
        compile_objective(objective("return torch.os.getcwd()"))


def test_every_allowed_builtin_and_module_works_once_compiled():
    body = [
        "z = beta * (policy_chosen_logps - policy_rejected_logps)",
        "total = 0.0",
        "for k in range(2):",
        "    total = total + pow(abs(round(float(int(bool(len(z)))))), 2) + sum([min(k, 1), max(k, 0)])",
        "return -F.logsigmoid(z) * total + math.pi * 0 + torch.zeros_like(z)",
    ]
    loss = compile_objective(objective(*body))
    losses = loss(*(torch.full((3,), -1.0) for _ in range(4)), 0.1)
    assert losses.shape == (3,) and torch.allclose(losses, torch.full((3,), 4 * math.log(2)))


def test_safe_builtins_hold_only_the_allowed_names():
    assert set(safe_builtins()) == {*BUILTINS, "__import__"}


@pytest.mark.parametrize(
    "statement", ["import os", "from torch import nn", "from torch.nn import functional", "import torch.nn"]
)
def test_the_runtime_import_admits_only_the_three_import_lines(statement):
    namespace = {"__builtins__": safe_builtins()}
    with pytest.raises(ImportError, match="is not allowed"):
        exec(statement, namespace)
    exec("import math\nimport torch\nimport torch.nn.functional as F", namespace)
    assert namespace["F"].logsigmoid is torch.nn.functional.logsigmoid
