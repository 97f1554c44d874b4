"""Request dependencies: the application state and the authenticated caller."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from shipway.adapters.kube.reviews import UserInfo
from shipway.api.state import AppState


def app_state(request: Request) -> AppState:
    state: AppState = request.app.state.shipway
    return state


State = Annotated[AppState, Depends(app_state)]


async def current_user(
    state: State, authorization: Annotated[str | None, Header(include_in_schema=False)] = None
) -> UserInfo:
    return await state.access.authenticate(authorization)


Caller = Annotated[UserInfo, Depends(current_user)]
