"""The dashboard's Jinja2 environment: templates from the package, helpers as filters."""

from __future__ import annotations

from importlib import resources

from fastapi.templating import Jinja2Templates

from runwatch import __version__
from runwatch.web.views import ago, clock, priority_class, shown

templates = Jinja2Templates(directory=str(resources.files("runwatch.web").joinpath("templates")))
templates.env.filters.update(ago=ago, clock=clock, priority_class=priority_class, shown=shown)
templates.env.globals.update(version=__version__)
