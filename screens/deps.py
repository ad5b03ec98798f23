"""Dependencies declared once as typed aliases and asked for by type in each route."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlmodel import Session

from screens.auth import Principal, authenticate
from screens.db.session import session_scope
from screens.runtime import Runtime


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def get_session(runtime: RuntimeDep) -> Iterator[Session]:
    yield from session_scope(runtime.engine)


SessionDep = Annotated[Session, Depends(get_session)]


def get_principal(session: SessionDep,
                  authorization: Annotated[str | None, Header(description="Bearer <token>")] = None) -> Principal:
    return authenticate(session, authorization)


PrincipalDep = Annotated[Principal, Depends(get_principal)]
