"""A judged evaluator's plan (a JSON-able dict of sections) as rich tables, for `discover run --dry-run`."""

from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text


def render_plan(plan: dict[str, Any], console: Console) -> None:
    """One table per section; nested mappings become dotted keys, lists are joined."""
    title = plan.get("title", "plan")
    for section, content in plan.items():
        if section == "title":
            continue
        table = Table(
            title=f"{title}: {section}" if section else title, title_justify="left", show_header=False
        )
        table.add_column("field", style="bold")
        table.add_column("value", overflow="fold")
        rows = _flatten(content) if isinstance(content, dict) else [("", content)]
        for key, value in rows:
            table.add_row(Text(key), Text(_text(value)))  # Text: "[[rating]]" is not rich markup
        console.print(table)


def _flatten(mapping: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    rows: list[tuple[str, Any]] = []
    for key, value in mapping.items():
        if isinstance(value, dict) and value:
            rows += _flatten(value, f"{prefix}{key}.")
        else:
            rows.append((f"{prefix}{key}", value))
    return rows


def _text(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, list | tuple):
        return " ".join(str(item) for item in value)
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)
