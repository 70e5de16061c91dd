"""`tracker config`: show or change the user's settings (registered on import)."""

from __future__ import annotations

from typing import Annotated

import typer

from tracker.cli.app import app


@app.command(
    "config",
    help=(
        "Show the settings (guidance thresholds, roller and body geometry, weekly goal), or change "
        "one: tracker config NAME VALUE. Settings live in config.json in the data directory.\n\n"
        "Example: tracker config roller_diameter_cm 12"
    ),
)
def config_command(
    name: Annotated[str | None, typer.Argument(help="Setting to change (omit to list them all).")] = None,
    value: Annotated[str | None, typer.Argument(help="Its new value.")] = None,
) -> None:
    from dataclasses import fields

    from tracker import paths
    from tracker.errors import UsageError
    from tracker.guidance import Guidance
    from tracker.settings import load_guidance, save_guidance_setting

    if name is not None and value is None:
        guidance = load_guidance()
        if not hasattr(guidance, name):
            raise UsageError(f"there is no setting {name!r}", hint="run `tracker config` to list them")
        typer.echo(f"{name} = {getattr(guidance, name)}")
        return
    if name is not None:
        guidance = save_guidance_setting(name, value or "")
        typer.echo(f"{name} = {getattr(guidance, name)}  (saved in {paths.config_path()})")
        return
    guidance, default = load_guidance(), Guidance()
    width = max(len(f.name) for f in fields(Guidance))
    for f in fields(Guidance):
        current = getattr(guidance, f.name)
        mark = "" if current == getattr(default, f.name) else "   (changed)"
        typer.echo(f"{f.name:<{width}}  {current}{mark}")
