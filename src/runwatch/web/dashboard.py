"""The dashboard: server-rendered pages over the same store queries as the API.

Pages read with any signed-in token; the forms that change something (acknowledge, switch a rule,
undo a response) need an admin and the session's CSRF token, exactly like the API.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from runwatch.priority import Priority
from runwatch.store.base import AlertOrder, AlertQuery, AlertStatus, StoredAlert
from runwatch.web.api.alerts import AlertId, find_alert, set_status, similar_alerts
from runwatch.web.api.containers import container_rows
from runwatch.web.api.filters import alert_query
from runwatch.web.api.overview import window_overview
from runwatch.web.api.responses import undo
from runwatch.web.api.rules import switch_rule
from runwatch.web.auth import Principal, authenticator_of, require_admin
from runwatch.web.base import WebParts, parts_of
from runwatch.web.charts import stacked_bars
from runwatch.web.signin import router as signin_router
from runwatch.web.templates import templates
from runwatch.web.views import SEVERITY_GROUPS, ancestry, container_fields

router = APIRouter(include_in_schema=False)
router.include_router(signin_router)

WINDOWS = ("1h", "24h", "7d")
Parts = Annotated[WebParts, Depends(parts_of)]


def page_principal(request: Request) -> Principal:
    """The signed-in user; anyone else is sent to the sign-in page and brought back after."""
    principal = authenticator_of(request).authenticate(request)
    if principal is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise HTTPException(303, "sign in first", headers={"Location": f"/login?next={quote(target)}"})
    return principal


Viewer = Annotated[Principal, Depends(page_principal)]
Admin = Annotated[Principal, Depends(require_admin)]


def render(request: Request, parts: WebParts, principal: Principal, template: str,
           **context: Any) -> Response:
    return templates.TemplateResponse(request, template, {
        "principal": principal, "csrf": principal.session.csrf if principal.session else "",
        "health": parts.health.report(), "page": template.removesuffix(".html"), **context})


def most_severe_open(parts: WebParts, limit: int) -> list[StoredAlert]:
    """Open alerts, the most severe first, newest first within a priority."""
    return parts.store.search_alerts(AlertQuery(status=AlertStatus.OPEN, order=AlertOrder.SEVERITY,
                                                limit=limit)).items


@router.get("/")
def overview_page(request: Request, parts: Parts, principal: Viewer,
                  window: Annotated[str, Query(pattern="^(1h|24h|7d)$")] = "24h") -> Response:
    view = window_overview(parts, window)
    names = {c.record.id: c.record for c in parts.store.list_containers()}
    groups = [(label, sum(view.open_by_priority.get(p, 0) for p in members), members[0],
               min_priority_link(members, window)) for label, members in SEVERITY_GROUPS]
    return render(request, parts, principal, "overview.html", window=window, windows=WINDOWS,
                  view=view, groups=groups, containers=names,
                  chart=stacked_bars(view.buckets, view.since_ns, view.bucket_ns),
                  attention=most_severe_open(parts, 8),
                  total=sum(view.by_priority.values()),
                  open_total=sum(view.open_by_priority.values()))


def min_priority_link(members: tuple[Priority, ...], window: str) -> str:
    """The alert list showing one severity group's open alerts of the window, as its card counts."""
    return "/alerts?" + urlencode([("status", "open"), ("sort", "severity"), ("since", window),
                                   *(("priority", p.name.lower()) for p in members)])


@router.get("/alerts")
def alerts_page(request: Request, parts: Parts, principal: Viewer,
                query: Annotated[AlertQuery, Depends(alert_query)]) -> Response:
    page = parts.store.search_alerts(query)
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "offset" and v]
    end = query.offset + len(page.items)
    chosen = request.query_params.getlist("priority")
    return render(request, parts, principal, "alerts.html", page=page, query=query,
                  filters=dict(params), is_filtered=any(k != "limit" for k, _ in params),
                  priorities=[p.name.lower() for p in Priority], chosen=set(chosen),
                  statuses=list(AlertStatus), status_links=_status_links(params),
                  sort_links=_links_with(params, "sort", ("newest", "severity")),
                  rule_names=sorted({r.name for r in parts.rules.list_rules()}),
                  live_filters=_live_filters(dict(params), chosen, query),
                  prev_link=_page_link(params, max(0, query.offset - query.limit)) if query.offset else None,
                  next_link=_page_link(params, end) if end < page.total else None,
                  first=query.offset + 1 if page.items else 0, last=end,
                  containers={c.record.id: c.record for c in parts.store.list_containers()})


def _page_link(params: list[tuple[str, str]], offset: int) -> str:
    return "/alerts?" + urlencode([*params, ("offset", str(offset))])


def _status_links(params: list[tuple[str, str]]) -> dict[str, str]:
    """The query strings of the same filters with each status (and '' for any status)."""
    return _links_with(params, "status", ("open", "acknowledged", "resolved", ""))


def _links_with(params: list[tuple[str, str]], name: str, values: tuple[str, ...]) -> dict[str, str]:
    """The query strings of the same filters with each value of one parameter ('' drops it)."""
    others = [(k, v) for k, v in params if k != name]
    return {value: urlencode([*others, *([(name, value)] if value else [])]) for value in values}


def _live_filters(filters: dict[str, str], priorities: list[str], query: AlertQuery
                  ) -> dict[str, object]:
    """The filters runwatch.js applies to streamed alerts; only the first page shows arrivals."""
    return {"live": query.offset == 0 and query.order == AlertOrder.NEWEST, "priority": priorities,
            **{key: filters.get(key, "") for key in ("min_priority", "status", "rule", "container",
                                                     "tag", "image", "q", "until")}}


@router.get("/alerts/{alert_id}")
def alert_page(request: Request, parts: Parts, principal: Viewer, alert_id: AlertId) -> Response:
    stored = find_alert(parts, alert_id)
    alert = stored.alert
    container = next((c for c in parts.store.list_containers()
                      if alert.container_id and c.record.id == alert.container_id), None)
    return render(request, parts, principal, "alert.html", stored=stored, alert=alert,
                  chain=ancestry(alert.output_fields), container=container,
                  container_fields=container_fields(alert.output_fields),
                  responses=parts.store.list_responses(alert_id=alert.id),
                  similar=similar_alerts(parts, stored), statuses=list(AlertStatus),
                  accepted=request.query_params.get("accepted") == "1")


@router.post("/alerts/{alert_id}/status")
def alert_status(parts: Parts, principal: Admin, alert_id: AlertId,
                 status: Annotated[AlertStatus, Form()],
                 comment: Annotated[str, Form(max_length=4000)] = "") -> Response:
    set_status(parts, alert_id, status, principal, comment)
    return RedirectResponse(f"/alerts/{alert_id}", status_code=303)


@router.get("/containers")
def containers_page(request: Request, parts: Parts, principal: Viewer) -> Response:
    return render(request, parts, principal, "containers.html", rows=container_rows(parts))


@router.get("/containers/{container_id}")
def container_page(request: Request, parts: Parts, principal: Viewer,
                   container_id: Annotated[str, Path(max_length=64)]) -> Response:
    rows = [row for row in container_rows(parts) if row[0] == container_id]
    if not rows:
        raise HTTPException(404, f"no container with id {container_id}")
    _, stored, count = rows[0]
    page = parts.store.search_alerts(AlertQuery(container_id=container_id, limit=50))
    return render(request, parts, principal, "container.html", container_id=container_id,
                  stored=stored, count=count, alerts=page.items, total=page.total,
                  responses=[r for r in parts.store.list_responses(limit=500)
                             if r.container_id == container_id][:20])


@router.get("/rules")
def rules_page(request: Request, parts: Parts, principal: Viewer,
               q: Annotated[str, Query(max_length=200)] = "") -> Response:
    rules = parts.rules.list_rules()
    if q:
        needle = q.lower()
        rules = [r for r in rules if needle in r.name.lower() or any(needle in t for t in r.tags)]
    rules.sort(key=lambda r: (-r.hits, r.priority if r.priority is not None else 99, r.name))
    return render(request, parts, principal, "rules.html", rules=rules, q=q,
                  enabled=sum(1 for r in rules if r.enabled))


@router.post("/rules/switch")
def rule_switch(parts: Parts, principal: Admin, name: Annotated[str, Form(max_length=1000)],
                enabled: Annotated[bool, Form()]) -> Response:
    switch_rule(parts, name, enabled)
    return RedirectResponse("/rules", status_code=303)


@router.post("/responses/{response_id}/undo")
def response_undo(parts: Parts, principal: Admin,
                  response_id: Annotated[str, Path(max_length=64)]) -> Response:
    record = undo(parts, response_id)
    return RedirectResponse(f"/alerts/{record.alert_id}", status_code=303)
