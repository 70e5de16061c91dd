"""`tracker config`: the settings as a table (value, unit, default, what each changes, where its
default comes from), one setting in full, or a change to one (registered on import)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

from tracker.cli.app import app

if TYPE_CHECKING:
    from tracker.guidance import Guidance


def setting_rows(guidance: Guidance) -> list[dict[str, Any]]:
    """One dict per setting, in the order of `Guidance`: name, value, unit, default, allowed range
    (numbers only), what it changes, the source of its default, and whether it was changed."""
    from dataclasses import fields

    from tracker.guidance import SETTING_DOCS, SETTING_RANGES, WEEKDAYS, Guidance

    default = Guidance()
    rows = []
    for f in fields(Guidance):
        doc = SETTING_DOCS[f.name]
        value, base = getattr(guidance, f.name), getattr(default, f.name)
        allowed: Any
        if f.name in SETTING_RANGES:
            allowed = list(SETTING_RANGES[f.name][:2])
        elif isinstance(base, bool):
            allowed = [True, False]
        else:
            allowed = list(WEEKDAYS)
        rows.append(
            {
                "name": f.name,
                "value": value,
                "unit": doc.unit,
                "default": base,
                "allowed": allowed,
                "changes": doc.changes,
                "source": doc.source,
                "changed": value != base,
            }
        )
    return rows


def _unknown_setting(name: str) -> Exception:
    from tracker.errors import UsageError
    from tracker.guidance import closest_settings

    close = closest_settings(name)
    meant = f" (did you mean {' or '.join(close)}?)" if close else ""
    return UsageError(f"there is no setting {name!r}{meant}", hint="run `tracker config` to list them")


def _allowed_text(row: dict[str, Any]) -> str:
    from tracker.settings import format_setting

    allowed = row["allowed"]
    if isinstance(row["default"], bool):
        return "true or false"
    if isinstance(row["default"], str):
        return ", ".join(allowed)
    unit = f" {row['unit']}" if row["unit"] and not row["unit"].startswith("of ") else ""
    return f"{format_setting(allowed[0])} to {format_setting(allowed[1])}{unit}"


def _print_one(row: dict[str, Any]) -> None:
    from tracker.guidance import GUIDANCE_DOC
    from tracker.settings import format_setting

    unit = f" {row['unit']}" if row["unit"] else ""
    changed = "" if not row["changed"] else f" (changed; default {format_setting(row['default'])}{unit})"
    typer.echo(f"{row['name']} = {format_setting(row['value'])}{unit}{changed}")
    typer.echo(f"  changes:  {row['changes']}")
    typer.echo(f"  default:  {format_setting(row['default'])}{unit}: {row['source']} (sources: {GUIDANCE_DOC})")
    typer.echo(f"  allowed:  {_allowed_text(row)}")


def _print_table(rows: list[dict[str, Any]]) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from tracker import paths
    from tracker.guidance import GUIDANCE_DOC
    from tracker.settings import format_setting

    console = Console(highlight=False)
    if not console.is_terminal:
        # piped or saved: one line per setting, whatever the width, so grep finds a whole row
        console = Console(highlight=False, width=260)
    table = Table(box=None, header_style="bold", pad_edge=False, show_edge=False)
    for column, style in (("setting", "bold"), ("value", ""), ("unit", ""), ("default", "dim"),
                          ("what it changes", ""), ("where the default comes from", "dim")):  # fmt: skip
        table.add_column(column, style=style, overflow="fold")
    for r in rows:
        value = format_setting(r["value"]) + (" (changed)" if r["changed"] else "")
        # Text, not markup: the sources' [bracketed] keys are words, not rich styles
        cells = (r["name"], value, r["unit"], format_setting(r["default"]), r["changes"], r["source"])
        table.add_row(*(Text(c) for c in cells))
    console.print(table)
    console.print(
        f"Change one: tracker config NAME VALUE (saved in {paths.config_path()}). "
        f"The sources in [brackets] are explained in {GUIDANCE_DOC} in tracker's repository.",
        markup=False,
    )


@app.command(
    "config",
    help=(
        "Show the settings as a table: value, unit, default, what each changes and where its default "
        "comes from (guidance and studies; in full in docs/guidance.md). With NAME, that setting; "
        "with NAME VALUE, change it. Settings live in config.json in the data directory; each has "
        "an allowed range, and related ones must agree (e.g. hold_target_min_s up to "
        "hold_target_max_s).\n\n"
        "Example: tracker config roller_diameter_cm 12"
    ),
    # a value may be negative ("-3"): it is a value to check, not an option
    context_settings={"ignore_unknown_options": True},
)
def config_command(
    name: Annotated[str | None, typer.Argument(metavar="[NAME]", help="A setting (omit to list them all).", show_default=False)] = None,
    value: Annotated[str | None, typer.Argument(metavar="[VALUE]", help="Its new value.", show_default=False)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="The same as JSON on stdout: a list, or one object with NAME.")] = False,
) -> None:
    import sys
    from dataclasses import fields

    from tracker import paths
    from tracker.guidance import Guidance, guidance_problem
    from tracker.settings import format_setting, load_guidance, save_guidance_setting

    known = {f.name for f in fields(Guidance)}
    if name is not None and name not in known:
        raise _unknown_setting(name)
    if name is not None and value is not None:
        guidance = save_guidance_setting(name, value)
        row = next(r for r in setting_rows(guidance) if r["name"] == name)
        if as_json:
            typer.echo(json.dumps(row))
            return
        unit = f" {row['unit']}" if row["unit"] else ""
        typer.echo(f"{name} = {format_setting(row['value'])}{unit}  (saved in {paths.config_path()})")
        return
    # Showing reads the file as it is, even when a setting in it is unusable, and says which.
    guidance = load_guidance(validate=False)
    rows = setting_rows(guidance)
    if name is not None:
        rows = [r for r in rows if r["name"] == name]
    if as_json:
        typer.echo(json.dumps(rows[0] if name is not None else rows))
    elif name is not None:
        _print_one(rows[0])
    else:
        _print_table(rows)
    problem = guidance_problem(guidance)
    if problem is not None:
        print(f"tracker: error: {problem}; fix it with `tracker config NAME VALUE`", file=sys.stderr)
        raise typer.Exit(2)
