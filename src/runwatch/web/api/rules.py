"""/api/rules: the rules the daemon runs, their hit counts, and switching one off or on."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path

from runwatch.errors import RuleError
from runwatch.rules.catalog import RuleState
from runwatch.web.api.schemas import RuleChangeIn, RuleOut, rule_out
from runwatch.web.auth import require_admin, require_viewer
from runwatch.web.base import WebParts, parts_of

router = APIRouter(prefix="/api/rules", tags=["rules"])

RuleName = Annotated[str, Path(description="The rule's name, URL-encoded")]


@router.get("", response_model=list[RuleOut], dependencies=[Depends(require_viewer)])
def list_rules(parts: Annotated[WebParts, Depends(parts_of)]) -> list[RuleOut]:
    """Every loaded rule: detector, priority, tags, whether it runs, hits since the daemon started."""
    return [rule_out(state) for state in parts.rules.list_rules()]


@router.get("/{name:path}", response_model=RuleOut, dependencies=[Depends(require_viewer)])
def get_rule(name: RuleName, parts: Annotated[WebParts, Depends(parts_of)]) -> RuleOut:
    state = parts.rules.get(name)
    if state is None:
        raise HTTPException(404, f"no rule named {name!r}")
    return rule_out(state)


@router.patch("/{name:path}", response_model=RuleOut, dependencies=[Depends(require_admin)])
def change_rule(name: RuleName, change: RuleChangeIn,
                parts: Annotated[WebParts, Depends(parts_of)]) -> RuleOut:
    """Switch a rule off or on in the running daemon (until it stops). Admin only."""
    return rule_out(switch_rule(parts, name, change.enabled))


def switch_rule(parts: WebParts, name: str, enabled: bool) -> RuleState:
    try:
        state = parts.rules.set_enabled(name, enabled)
    except RuleError as err:
        raise HTTPException(409, err.message) from err
    if state is None:
        raise HTTPException(404, f"no rule named {name!r}")
    return state
