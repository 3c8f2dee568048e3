"""/api/profiles and /api/graph: behaviour profiles, their modes, accepting deviations, image
diffs, policy export, and the connectivity map. Reading needs a viewer, changing an admin."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Literal, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Path, Query
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field

from runwatch.errors import ProfileError
from runwatch.graph.view import build_graph
from runwatch.profiles import admin
from runwatch.profiles.export import EXPORTERS
from runwatch.profiles.model import describe_item
from runwatch.profiles.state import StoredProfile
from runwatch.web.auth import require_admin, require_viewer
from runwatch.web.base import WebParts, parts_of

router = APIRouter(tags=["profiles"])
T = TypeVar("T")

Parts = Annotated[WebParts, Depends(parts_of)]
Workload = Annotated[str, Path(max_length=600, description="As listed: web@docker.io/library/nginx")]


class ProfileSummaryOut(BaseModel):
    workload: str
    mode: str
    items: int
    by_kind: dict[str, int]
    image_diff: int
    updated_ns: int
    image: str | None


class ItemOut(BaseModel):
    kind: str
    item: list[str]
    text: str
    origin: str
    first_ns: int


class ImageChangeOut(BaseModel):
    previous: str
    current: str
    started_ns: int
    until_ns: int
    reported: bool


class ProfileOut(ProfileSummaryOut):
    revision: int
    images: list[str]
    image_change: ImageChangeOut | None
    profile_items: list[ItemOut]


class ModeIn(BaseModel):
    mode: str = Field(description="learn, monitor or protect")


class AcceptIn(BaseModel):
    """Either the id of a profile alert, or one item as its kind and fields."""

    alert_id: str | None = Field(default=None, max_length=64)
    kind: str | None = None
    item: list[str] | None = None


class AcceptedOut(BaseModel):
    workload: str
    accepted: list[ItemOut]


class DecisionIn(BaseModel):
    decision: Literal["accept", "reject"]


class DecisionOut(BaseModel):
    workload: str
    decision: str
    items: int


class NodeOut(BaseModel):
    id: str
    kind: str
    mode: str | None


class EdgeOut(BaseModel):
    source: str
    target: str
    port: int
    protocol: str
    first_ns: int
    last_ns: int
    count: int
    abnormal: bool
    alert_id: str | None


class GraphOut(BaseModel):
    nodes: list[NodeOut]
    edges: list[EdgeOut]


@router.get("/api/profiles", response_model=list[ProfileSummaryOut],
            dependencies=[Depends(require_viewer)])
def list_profiles(parts: Parts) -> list[ProfileSummaryOut]:
    """Every workload's profile: mode, items learned by kind, image diff waiting, last change."""
    return [_summary(s) for s in admin.list_profiles(parts.store.profiles)]


@router.get("/api/graph", response_model=GraphOut, dependencies=[Depends(require_viewer)])
def get_graph(parts: Parts) -> GraphOut:
    """Who talks to whom: workloads and external peers; edges outside a profile are abnormal,
    with the alert they raised."""
    graph = build_graph(parts.store.profiles.list_edges(), parts.store.profiles.load())
    return GraphOut(nodes=[NodeOut(id=n.id, kind=n.kind, mode=n.mode) for n in graph.nodes],
                    edges=[EdgeOut(**{f: getattr(e, f) for f in EdgeOut.model_fields})
                           for e in graph.edges])


@router.get("/api/profiles/{workload:path}/export", response_class=PlainTextResponse,
            dependencies=[Depends(require_viewer)])
def export_profile(workload: Workload, parts: Parts,
                   policy_format: Annotated[str, Query(alias="format", description=", ".join(EXPORTERS))]
                   = "kubearmor") -> PlainTextResponse:
    """The profile as a policy: kubearmor, networkpolicy or falco (YAML)."""
    find_profile(parts, workload)
    policy = profile_action(lambda: admin.export_profile(parts.store.profiles, workload,
                                                         policy_format))
    return PlainTextResponse(policy, media_type="application/yaml")


@router.post("/api/profiles/{workload:path}/mode", response_model=ProfileOut,
             dependencies=[Depends(require_admin)])
def set_mode(workload: Workload, body: ModeIn, parts: Parts) -> ProfileOut:
    """Set the mode; the running daemon follows within profiles.sync_interval_s."""
    find_profile(parts, workload)
    profile_action(lambda: admin.set_mode(parts.store.profiles, workload, body.mode))
    return _profile_out(find_profile(parts, workload))


@router.post("/api/profiles/{workload:path}/accept", response_model=AcceptedOut,
             dependencies=[Depends(require_admin)])
def accept(workload: Workload, body: AcceptIn, parts: Parts) -> AcceptedOut:
    """Accept a deviation into the profile: what a profile alert flagged, or one item."""
    find_profile(parts, workload)
    store = parts.store
    if body.alert_id is not None:
        named, items = profile_action(lambda: admin.accept_alert(store.profiles, store,
                                                                 str(body.alert_id)))
        if named != workload:
            raise HTTPException(400, f"alert {body.alert_id} concerns workload {named!r}, "
                                     f"not {workload!r}")
    elif body.kind is not None and body.item:
        items = profile_action(lambda: admin.accept_items(store.profiles, workload,
                                                          str(body.kind), list(body.item or [])))
    else:
        raise HTTPException(400, "give alert_id, or kind and item")
    return AcceptedOut(workload=workload, accepted=[
        ItemOut(kind=str(kind), item=list(item), text=describe_item(kind, item), origin="accepted",
                first_ns=0) for kind, item in items])


class ItemIn(BaseModel):
    kind: str
    item: list[str] = Field(min_length=1)


@router.post("/api/profiles/{workload:path}/forget", response_model=ItemOut,
             dependencies=[Depends(require_admin)])
def forget(workload: Workload, body: ItemIn, parts: Parts) -> ItemOut:
    """Take one learned item out of the profile; outside learn mode it alerts again."""
    kind, item = profile_action(lambda: admin.forget_item(parts.store.profiles, workload,
                                                          body.kind, body.item))
    return ItemOut(kind=str(kind), item=list(item), text=describe_item(kind, item),
                   origin="forgotten", first_ns=0)


@router.get("/api/profiles/{workload:path}/diff", response_model=list[ItemOut],
            dependencies=[Depends(require_viewer)])
def get_diff(workload: Workload, parts: Parts) -> list[ItemOut]:
    """What the workload's new image version did that its profile lacks."""
    return [i for i in _profile_out(find_profile(parts, workload)).profile_items
            if i.origin == "image_diff"]


@router.post("/api/profiles/{workload:path}/diff", response_model=DecisionOut,
             dependencies=[Depends(require_admin)])
def decide_diff(workload: Workload, body: DecisionIn, parts: Parts) -> DecisionOut:
    """Accept the image diff into the profile, or reject it (its items alert again)."""
    find_profile(parts, workload)
    count = profile_action(lambda: admin.resolve_image_diff(parts.store.profiles, workload,
                                                            body.decision == "accept"))
    return DecisionOut(workload=workload, decision=body.decision, items=count)


@router.get("/api/profiles/{workload:path}", response_model=ProfileOut,
            dependencies=[Depends(require_viewer)])
def get_profile(workload: Workload, parts: Parts) -> ProfileOut:
    """One profile with its items, kind by kind."""
    return _profile_out(find_profile(parts, workload))


def find_profile(parts: WebParts, workload: str) -> StoredProfile:
    profile = parts.store.profiles.get(workload)
    if profile is None:
        raise HTTPException(404, f"no profile for workload {workload!r}")
    return profile


def profile_action(action: Callable[[], T]) -> T:
    """The action's result; a ProfileError (bad mode, kind, item, format) is a 400 naming it."""
    try:
        return action()
    except ProfileError as err:
        raise HTTPException(400, err.message) from err


def _summary(summary: admin.ProfileSummary) -> ProfileSummaryOut:
    return ProfileSummaryOut(workload=summary.workload, mode=str(summary.mode), items=summary.items,
                             by_kind=summary.by_kind, image_diff=summary.image_diff,
                             updated_ns=summary.updated_ns, image=summary.image)


def _profile_out(profile: StoredProfile) -> ProfileOut:
    record = profile.record
    change = record.image_change
    return ProfileOut(**_summary(admin.summarise(profile)).model_dump(), revision=record.revision,
                      images=record.images,
                      image_change=ImageChangeOut(previous=change.previous, current=change.current,
                                                  started_ns=change.started_ns,
                                                  until_ns=change.until_ns, reported=change.reported)
                      if change else None,
                      profile_items=[ItemOut(kind=str(i.kind), item=list(i.item),
                                             text=describe_item(i.kind, i.item), origin=str(i.origin),
                                             first_ns=i.first_ns) for i in profile.items])
