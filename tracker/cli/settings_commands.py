"""`tracker config`: show or change the user's settings (registered on import)."""

from __future__ import annotations

from typing import Annotated

import typer

from tracker.cli.app import app


@app.command(
    "config",
    help=(
        "Show the settings (guidance thresholds, roller and body geometry, weekly goal), or change "
        "one: tracker config NAME VALUE. Settings live in config.json in the data directory; each "
        "has an allowed range, and related ones must agree (e.g. hold_target_min_s up to "
        "hold_target_max_s).\n\n"
        "Example: tracker config roller_diameter_cm 12"
    ),
    # a value may be negative ("-3"): it is a value to check, not an option
    context_settings={"ignore_unknown_options": True},
)
def config_command(
    name: Annotated[str | None, typer.Argument(help="Setting to change (omit to list them all).")] = None,
    value: Annotated[str | None, typer.Argument(help="Its new value.")] = None,
) -> None:
    import sys
    from dataclasses import fields

    from tracker import paths
    from tracker.errors import UsageError
    from tracker.guidance import Guidance, guidance_problem
    from tracker.settings import format_setting, load_guidance, save_guidance_setting

    if name is not None and value is None:
        guidance = load_guidance(validate=False)
        if not hasattr(guidance, name):
            raise UsageError(f"there is no setting {name!r}", hint="run `tracker config` to list them")
        typer.echo(f"{name} = {format_setting(getattr(guidance, name))}")
        return
    if name is not None:
        guidance = save_guidance_setting(name, value or "")
        typer.echo(f"{name} = {format_setting(getattr(guidance, name))}  (saved in {paths.config_path()})")
        return
    # Listing shows the file as it is, even when a setting in it is unusable, and says which.
    guidance, default = load_guidance(validate=False), Guidance()
    width = max(len(f.name) for f in fields(Guidance))
    for f in fields(Guidance):
        current = getattr(guidance, f.name)
        mark = "" if current == getattr(default, f.name) else "   (changed)"
        typer.echo(f"{f.name:<{width}}  {format_setting(current)}{mark}")
    problem = guidance_problem(guidance)
    if problem is not None:
        print(f"tracker: error: {problem}; fix it with `tracker config NAME VALUE`", file=sys.stderr)
        raise typer.Exit(2)
