"""The one POST nhiaudit sends to Azure: `POST {site id}/config/appsettings/list`, how ARM returns an App
Service's (web or function app's) application settings. Azure designs secret-bearing reads as POST actions
(permission `Microsoft.Web/sites/config/list/action`); this one changes nothing. The guard in clients.py
allows exactly this path shape (a site, or a deployment slot of a site, in a resource group of a subscription)
and nothing broader: any other POST (another `.../list` action, `listKeys`, `$batch`) is still refused before
it is sent."""

from __future__ import annotations

import re

_NAME = r"[\w.()-]{1,90}"  # a resource group name (as audit_diagnostics.py matches it)
APP_SETTINGS_LIST = re.compile(
    rf"^/subscriptions/[0-9a-fA-F-]{{36}}/resourceGroups/{_NAME}/providers/Microsoft\.Web/sites/[A-Za-z0-9-]{{1,60}}"
    rf"(/slots/[A-Za-z0-9-]{{1,59}})?/config/appsettings/list$", re.IGNORECASE)


def is_read_only_post(method: str, path: str) -> bool:
    """True only for a POST to a site's (or slot's) `config/appsettings/list`."""
    return method == "POST" and bool(APP_SETTINGS_LIST.match(path)) and "/../" not in path and "%" not in path
