"""API tokens for admins: create (the secret shown once), list, revoke."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from sqlmodel import select

from screens.auth import create_token, hash_token, list_tokens, revoke_token
from screens.db.tables import ApiToken
from screens.deps import AdminDep, RuntimeDep, SessionDep
from screens.errors import InvalidInput, NotFound, error_responses
from screens.schemas.base import MAX_INT
from screens.schemas.tokens import TokenCreate, TokenIssued, TokenPublic
from screens.services import audit

router = APIRouter(prefix="/v1/tokens", tags=["tokens"])
TokenId = Annotated[int, Path(ge=1, le=MAX_INT)]


def _public(row: ApiToken) -> TokenPublic:
    return TokenPublic.model_validate(row.model_dump(exclude={"token_hash"}))


@router.get("", response_model=list[TokenPublic], responses=error_responses(401, 403))
def get_tokens(session: SessionDep, who: AdminDep) -> list[TokenPublic]:
    """Every token: role, scope, created, expires, last used, revoked; never the secret."""
    return [_public(r) for r in list_tokens(session)]


@router.post("", response_model=TokenIssued, status_code=201, responses=error_responses(401, 403, 422))
def post_token(body: TokenCreate, session: SessionDep, who: AdminDep) -> TokenIssued:
    """Create a token; the answer holds its secret, the only time it is shown."""
    try:
        token = create_token(
            session, body.role, store_ids=body.store_ids, screen_id=body.screen_id, label=body.label, ttl_s=body.ttl_s
        )
    except ValueError as exc:
        raise InvalidInput(str(exc), errors=[{"field": "body", "message": str(exc)}]) from exc
    row = session.exec(select(ApiToken).where(ApiToken.token_hash == hash_token(token))).one()
    audit.record(session, who, "token.create", f"token:{row.id}", role=row.role)
    return TokenIssued.model_validate(_public(row).model_dump() | {"token": token})


@router.delete("/{token_id}", response_model=TokenPublic, responses=error_responses(401, 403, 404))
def delete_token(token_id: TokenId, session: SessionDep, runtime: RuntimeDep, who: AdminDep) -> TokenPublic:
    """Revoke a token; every worker refuses it within a second (the row stays, marked revoked)."""
    row = revoke_token(session, token_id)
    if row is None:
        raise NotFound(f"no token {token_id}")
    audit.record(session, who, "token.revoke", f"token:{token_id}")
    session.commit()
    runtime.token_revoked(token_id)
    return _public(row)
