"""/profiles: the dashboard's behaviour profiles. Each workload's mode, what it learned kind by
kind, an image change waiting for a decision; admins switch modes, accept or reject image diffs,
and accept a profile alert's deviation from the alert's own page. The same admin functions as
/api/profiles, so the page and the API cannot disagree."""

from __future__ import annotations

from itertools import groupby
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from runwatch.profiles import admin
from runwatch.profiles.export import EXPORTERS
from runwatch.profiles.model import Mode, describe_item
from runwatch.web.api.profiles import find_profile, profile_action
from runwatch.web.dashboard import Admin, Parts, Viewer, render

router = APIRouter(include_in_schema=False)


@router.get("/profiles")
def profiles_page(request: Request, parts: Parts, principal: Viewer) -> Response:
    summaries = admin.list_profiles(parts.store.profiles)
    return render(request, parts, principal, "profiles.html", summaries=summaries,
                  waiting=sum(1 for s in summaries if s.image_diff))


@router.get("/profiles/{workload:path}")
def profile_page(request: Request, parts: Parts, principal: Viewer, workload: str) -> Response:
    profile = find_profile(parts, workload)
    items = sorted(profile.items, key=lambda i: (str(i.kind), i.item))
    by_kind = [(str(kind), [(describe_item(i.kind, i.item), str(i.origin), i.first_ns, i.item)
                            for i in group]) for kind, group in groupby(items, key=lambda i: i.kind)]
    return render(request, parts, principal, "profile.html", profile=profile,
                  summary=admin.summarise(profile), by_kind=by_kind, modes=[str(m) for m in Mode],
                  formats=list(EXPORTERS), path=quote(workload))


@router.post("/profiles/{workload:path}/mode")
def profile_mode(parts: Parts, principal: Admin, workload: str,
                 mode: Annotated[str, Form(max_length=20)]) -> Response:
    profile_action(lambda: admin.set_mode(parts.store.profiles, workload, mode))
    return RedirectResponse(f"/profiles/{quote(workload)}", status_code=303)


@router.post("/profiles/{workload:path}/diff")
def profile_diff(parts: Parts, principal: Admin, workload: str,
                 decision: Annotated[str, Form(pattern="^(accept|reject)$")]) -> Response:
    profile_action(lambda: admin.resolve_image_diff(parts.store.profiles, workload,
                                                    decision == "accept"))
    return RedirectResponse(f"/profiles/{quote(workload)}", status_code=303)


@router.post("/profiles/{workload:path}/forget")
def profile_forget(parts: Parts, principal: Admin, workload: str,
                   kind: Annotated[str, Form(max_length=40)],
                   field: Annotated[list[str], Form()]) -> Response:
    profile_action(lambda: admin.forget_item(parts.store.profiles, workload, kind, field))
    return RedirectResponse(f"/profiles/{quote(workload)}", status_code=303)


@router.post("/profiles/accept-alert")
def accept_alert(parts: Parts, principal: Admin,
                 alert_id: Annotated[str, Form(max_length=64)]) -> Response:
    """What a profile alert flagged becomes part of its workload's profile; back to the alert."""
    store = parts.store
    profile_action(lambda: admin.accept_alert(store.profiles, store, alert_id))
    return RedirectResponse(f"/alerts/{alert_id}?accepted=1", status_code=303)
