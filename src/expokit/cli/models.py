"""``expokit models``: the learned models' shipped weights."""

from __future__ import annotations

from rich.markup import escape
from rich.table import Table

from ._common import app, handle_errors, need_torch, out


@app.command()
@handle_errors
def models() -> None:
    """List the learned models' weights shipped with expokit: data, scores, SHA-256."""
    need_torch("expokit models")
    from ..models.zoo import list_pretrained

    rows = list_pretrained()
    table = Table("name", "file", "scores")
    for row in rows:
        scores = ", ".join(f"{k} {v:.4g}" for k, v in (row.get("scores") or {}).items()
                           if v is not None)
        table.add_row(str(row.get("name")), str(row.get("file")), scores)
    out.print(table)
    for row in rows:  # whole, on a line of its own, so no terminal width cuts it
        out.print(f"sha256 {row.get('sha256', '')}  {row.get('file')}", highlight=False,
                  markup=False, soft_wrap=True)
    for row in rows:
        data = row.get("data", "")
        if isinstance(data, dict):
            data = data.get("summary", "") or ", ".join(f"{k}: {v}" for k, v in data.items())
        out.print(f"[bold]{escape(str(row.get('name')))}[/] trained on: {escape(str(data))}",
                  highlight=False)

