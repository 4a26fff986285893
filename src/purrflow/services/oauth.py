"""OAuth for connections: the authorization-code flow with PKCE through the server, and one refresher
that renews every token before it expires.

The flow: an authenticated `begin` (the CLI's `purr connections init … --auth oauth`) records a state
bound to the connection and the user, and hands back `/oauth/<provider>/start?state=…`; that URL sends the
browser to the provider with the PKCE challenge; the provider sends it back to `/oauth/<provider>/callback`
with a code, which is traded (with the verifier) for tokens. A state is used once and lasts ten minutes.

Refreshing is the refresher's alone — sessions only read the stored token — so two sessions never
refresh at once. A token is renewed well before it expires (five minutes, or half its life when that is
shorter); the new tokens replace the old in one commit, so a crash mid-refresh leaves the old ones in
place and the refresh is done again after the restart, before any session resumes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from purrflow.connectors import github, oauth
from purrflow.engine.commit import GroupCommitter
from purrflow.engine.secretbox import SecretBox
from purrflow.errors import InvalidInputError, PurrflowError
from purrflow.services.connections import ConnectionService
from purrflow.store import ConnectionRecord, Project, Store, User

log = logging.getLogger("purrflow.oauth")

STATE_SECONDS = 600.0
#: A token is renewed this long before it expires (or at half its life, if that comes later).
REFRESH_MARGIN = 300.0
#: After a failed refresh, the next try.
RETRY_SECONDS = 60.0
#: The refresher looks at the clock at least this often (a token stored elsewhere is then seen).
IDLE_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class Granted:
    project_id: str
    connection: str
    detail: str


class OAuthService:
    def __init__(
        self,
        store: Store,
        committer: GroupCommitter,
        box: SecretBox,
        *,
        connections: ConnectionService,
        public_url: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._committer = committer
        self._box = box
        self._connections = connections
        self._public_url = public_url.rstrip("/")
        self._clock = clock
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        #: How many refreshes each connection had (operators and tests read it).
        self.refreshes: dict[str, int] = {}

    # -- the flow ------------------------------------------------------------------------------
    def begin(self, project: Project, name: str, user: User) -> str:
        """Start a grant for the connection: the URL to open in a browser."""
        record = self._connections.record(project, name)
        provider = self._provider(record)
        fields = self._connections.fields(record)
        missing = [key for key in ("client_id", "client_secret") if not fields.get(key)]
        if missing:
            raise InvalidInputError(
                f"connection {name!r} has no {' or '.join(missing)} of an OAuth app",
                hint=f"purr connections init {project.name} {name} --auth oauth",
            )
        state = secrets.token_urlsafe(32)
        verifier = oauth.Pkce.new().verifier
        with self._committer.write(atomic=False):
            self._store.put_oauth_state(
                state, record.id, user.id, self._box.encrypt(verifier.encode()), self._redirect_uri(provider)
            )
        return f"{self._public_url}/oauth/{provider.name}/start?state={state}"

    def authorize_url(self, provider_name: str, state: str) -> str:
        """Where `/oauth/<provider>/start` sends the browser."""
        found = self._store.take_oauth_state(state, max_age=STATE_SECONDS, consume=False)
        record = self._flow_connection(provider_name, found)
        assert found is not None
        verifier = self._box.decrypt(found[2]).decode()
        pkce = oauth.Pkce(verifier, oauth.Pkce.challenge_of(verifier))
        provider = self._provider(record)
        return oauth.authorize_url(
            provider, record.integration, self._connections.fields(record), state=state, pkce=pkce,
            redirect_uri=found[3],
        )  # fmt: skip

    async def complete(self, provider_name: str, state: str, code: str) -> Granted:
        """The provider's redirect back: trade the code for tokens and keep them with the connection."""
        found = self._store.take_oauth_state(state, max_age=STATE_SECONDS)
        record = self._flow_connection(provider_name, found)
        assert found is not None
        provider = self._provider(record)
        verifier = self._box.decrypt(found[2]).decode()
        fields = self._connections.fields(record)
        tokens = await asyncio.to_thread(
            oauth.exchange, provider, fields, code=code, verifier=verifier, redirect_uri=found[3]
        )
        detail = f"access granted through the browser (begun by user {found[1]})"
        self._connections.store_tokens(
            record, tokens.fields(provider), refresh_at=self._refresh_at(tokens), detail=detail
        )
        self._wake.set()
        return Granted(record.project_id, record.name, detail)

    # -- refreshing ----------------------------------------------------------------------------
    async def start(self) -> None:
        """Renew every token that is due (before sessions resume), then keep renewing them."""
        await self.refresh_due()
        self._task = asyncio.create_task(self._run(), name="oauth-refresher")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def refresh_due(self) -> None:
        for record in self._store.tokens_due(self._clock()):
            await self._refresh(record)

    async def _run(self) -> None:
        while True:
            try:
                await self.refresh_due()
            except Exception:  # the refresher outlives any one failure; each is recorded on its connection
                log.exception("refreshing OAuth tokens failed")
            upcoming = self._store.next_token_refresh()
            delay = IDLE_SECONDS if upcoming is None else min(IDLE_SECONDS, max(0.0, upcoming - self._clock()))
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)

    def wake(self) -> None:
        """A token became due (a GitHub App connection was just set up): look now, not in a while."""
        self._wake.set()

    async def _refresh(self, record: ConnectionRecord) -> None:
        if record.integration == "github" and record.auth_mode == "app":
            await self._mint(record)
            return
        provider = self._provider(record)
        try:
            tokens = await asyncio.to_thread(oauth.refresh, provider, self._connections.fields(record))
        except PurrflowError as err:
            log.warning("could not refresh the token of connection %s: %s", record.name, err.message)
            self._connections.record_failure(
                record, f"token refresh failed: {err.message}", retry_at=self._clock() + RETRY_SECONDS
            )
            return
        fresh = self._store.get_connection_by_id(record.id)
        if fresh is None:  # removed from the manifest meanwhile
            return
        self._connections.store_tokens(
            fresh, tokens.fields(provider), refresh_at=self._refresh_at(tokens), detail="token refreshed"
        )
        self.refreshes[record.id] = self.refreshes.get(record.id, 0) + 1

    async def _mint(self, record: ConnectionRecord) -> None:
        """A GitHub App's installation token (an hour long), minted here so that sessions get a token
        rather than sign their own with the App's key."""
        try:
            minted = await asyncio.to_thread(github.mint_installation_token, self._connections.fields(record))
        except PurrflowError as err:
            log.warning("could not mint a GitHub installation token for %s: %s", record.name, err.message)
            self._connections.record_failure(
                record, f"minting an installation token failed: {err.message}", retry_at=self._clock() + RETRY_SECONDS
            )
            return
        fresh = self._store.get_connection_by_id(record.id)
        if fresh is not None:
            self._connections.store_tokens(
                fresh,
                {"install_token": minted.token},
                refresh_at=self._renew_at(minted.expires_at),
                detail="installation token minted",
            )
            self.refreshes[record.id] = self.refreshes.get(record.id, 0) + 1

    def _refresh_at(self, tokens: oauth.Tokens) -> float | None:
        if tokens.expires_at is None or not tokens.refresh_token:
            return None
        return self._renew_at(tokens.expires_at)

    def _renew_at(self, expires_at: float) -> float:
        """Five minutes before expiry, or half-way through a shorter life."""
        return expires_at - min(REFRESH_MARGIN, max(expires_at - self._clock(), 0.0) / 2)

    # -- inside --------------------------------------------------------------------------------
    def _provider(self, record: ConnectionRecord) -> oauth.Provider:
        provider = oauth.provider_of(record.integration)
        if provider is None:
            raise InvalidInputError(
                f"{record.integration} connections do not use OAuth here",
                hint="OAuth is for slack, github and the Google integrations",
            )
        return provider

    def _redirect_uri(self, provider: oauth.Provider) -> str:
        return f"{self._public_url}/oauth/{provider.name}/callback"

    def _flow_connection(self, provider_name: str, found: tuple[str, str, bytes, str] | None) -> ConnectionRecord:
        if found is None:
            raise InvalidInputError(
                "this authorization link is unknown, used already or older than ten minutes",
                hint="start again: purr connections init PROJECT CONNECTION --auth oauth",
            )
        record = self._store.get_connection_by_id(found[0])
        if record is None or self._provider(record).name != provider_name:
            raise InvalidInputError("this authorization link is not for this provider's connection")
        return record
