"""Dependencies declared once as typed aliases and asked for by type in each route."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.concurrency import run_in_threadpool
from sqlmodel import Session

from screens.auth import Principal, authenticate, bearer_token, hash_token
from screens.db.session import session_scope
from screens.runtime import Runtime


async def get_runtime(request: Request) -> Runtime:
    """Async on purpose (no I/O): sync dependencies each cost a threadpool hop per request."""
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def get_session(runtime: RuntimeDep) -> Iterator[Session]:
    yield from session_scope(runtime.engine)


# scope="function": the request's transaction commits before the response is sent, so a client
# that gets a 200 can rely on the write being visible to its next request.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


async def get_principal(
    runtime: RuntimeDep, authorization: Annotated[str | None, Header(description="Bearer <token>")] = None
) -> Principal:
    """The caller, from the worker's token cache or, on a miss, the database."""
    token_hash = hash_token(bearer_token(authorization))
    principal = runtime.tokens.get(token_hash)
    if principal is None:

        def lookup() -> Principal:
            with Session(runtime.engine) as session:
                return authenticate(session, token_hash)

        principal = await run_in_threadpool(lookup)
        runtime.tokens.put(token_hash, principal)
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]
