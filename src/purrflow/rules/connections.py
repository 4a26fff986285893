"""What each integration's connection holds: its ways to authenticate and the fields each needs.

Both sides read this catalog: `purr connections init` asks for a mode's fields, the server refuses an
init that lacks one and never shows a secret field, and the runner's client helpers read the same field
names from `<connection>__<field>` variables. The names are those AutoKitteh programs and helpers already
read (`oauth_access_token`, `pat`, `BaseURL`, `JSON`, …), so unmodified programs find them.

A field the catalog does not name (set with `purr connections set`) is kept and treated as secret.
"""

from __future__ import annotations

from dataclasses import dataclass

from purrflow.errors import InvalidInputError

#: Where a client's API is redirected: GitHub Enterprise, Jira Server, a local test server.
BASE_URL = "base_url"
#: Fields no integration keeps secret: where the API is and how the connection authenticates.
PUBLIC_FIELDS = frozenset({BASE_URL, "auth_type", "enterprise_url"})


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    prompt: str
    secret: bool = True
    required: bool = True


@dataclass(frozen=True, slots=True)
class AuthMode:
    name: str
    description: str
    fields: tuple[Field, ...]
    #: Fields this mode sets from others (Twilio's Username is the account SID): name → source field.
    derived: tuple[tuple[str, str], ...] = ()
    #: Set when the mode is completed through the browser (`/oauth/<integration>/start`).
    oauth: bool = False

    def missing(self, values: dict[str, str]) -> list[Field]:
        return [f for f in self.fields if f.required and not values.get(f.name)]


@dataclass(frozen=True, slots=True)
class Integration:
    name: str
    title: str
    modes: tuple[AuthMode, ...]
    #: Fields every mode may add (base_url, webhook secrets).
    optional: tuple[Field, ...] = ()
    #: The kind of signed inbound deliveries it receives (an URL per connection), if any.
    inbound: str | None = None
    #: The form its `base_url` takes, for help texts.
    base_url_form: str = ""

    def mode(self, name: str | None) -> AuthMode:
        if not name:
            return self.modes[0]
        for mode in self.modes:
            if mode.name == name:
                return mode
        raise InvalidInputError(
            f"{self.name} connections have no auth mode {name!r}",
            hint=f"use one of: {', '.join(m.name for m in self.modes)}",
        )

    def field(self, name: str) -> Field | None:
        for field in (*self.optional, *(f for m in self.modes for f in m.fields)):
            if field.name == name:
                return field
        return None

    def is_secret(self, name: str) -> bool:
        if name in PUBLIC_FIELDS:
            return False
        field = self.field(name)
        return True if field is None else field.secret


def _url(form: str) -> Field:
    return Field(BASE_URL, f"API base URL (blank for the service's own; form: {form})", secret=False, required=False)


_OAUTH_APP = (
    Field("client_id", "OAuth client id", secret=False),
    Field("client_secret", "OAuth client secret"),
)
_SLACK_URL = "http://host:port/api/"
_GITHUB_URL = "http://host:port/api/v3"
_GOOGLE_URL = "http://host:port/"
_GOOGLE_MODES = (
    AuthMode("service_account", "a service account's JSON key", (Field("JSON", "service account JSON key"),)),
    AuthMode(
        "oauth",
        "a user's consent through the browser (purr connections init … then open the printed URL)",
        _OAUTH_APP,
        oauth=True,
    ),
)
_ATLASSIAN_MODES = (
    AuthMode(
        "cloud",
        "an Atlassian Cloud API token with the account's e-mail",
        (
            Field("BaseURL", "site URL (e.g. https://example.atlassian.net)", secret=False),
            Field("Email", "account e-mail", secret=False),
            Field("Token", "API token"),
        ),
    ),
    AuthMode(
        "pat",
        "a personal access token (Jira/Confluence Server and Data Center)",
        (Field("BaseURL", "server URL", secret=False), Field("Token", "personal access token")),
    ),
)


def _google(name: str, title: str, *extra: Field) -> Integration:
    return Integration(name, title, _GOOGLE_MODES, optional=(_url(_GOOGLE_URL), *extra), base_url_form=_GOOGLE_URL)


CATALOG: dict[str, Integration] = {
    i.name: i
    for i in (
        Integration(
            "slack",
            "Slack",
            (
                AuthMode(
                    "token",
                    "a bot token and the app's signing secret",
                    (
                        Field("oauth_access_token", "bot token (xoxb-…)"),
                        Field("signing_secret", "signing secret (Basic Information → App Credentials)"),
                    ),
                ),
                AuthMode(
                    "oauth",
                    "install the app through the browser",
                    (*_OAUTH_APP, Field("signing_secret", "signing secret")),
                    oauth=True,
                ),
            ),
            optional=(_url(_SLACK_URL),),
            inbound="slack",
            base_url_form=_SLACK_URL,
        ),
        Integration(
            "github",
            "GitHub",
            (
                AuthMode("pat", "a personal access token", (Field("pat", "personal access token (ghp_…)"),)),
                AuthMode(
                    "app",
                    "a GitHub App installation (tokens are minted and refreshed by the server)",
                    (
                        Field("app_id", "App ID", secret=False),
                        Field("private_key", "private key (PEM)"),
                        Field("install_id", "installation ID", secret=False),
                    ),
                ),
                AuthMode("oauth", "a user's consent through the browser", _OAUTH_APP, oauth=True),
            ),
            optional=(
                _url(_GITHUB_URL),
                Field("webhook_secret", "webhook secret (for signed deliveries)", required=False),
                Field("target_name", "organization or user", secret=False, required=False),
            ),
            inbound="github",
            base_url_form=_GITHUB_URL,
        ),
        _google(
            "gmail",
            "Gmail",
            Field("poll_interval", "seconds between looks at the mailbox (60)", secret=False, required=False),
        ),
        _google("googlesheets", "Google Sheets"),
        _google("googlecalendar", "Google Calendar"),
        _google("googledrive", "Google Drive"),
        _google("googleforms", "Google Forms"),
        Integration("jira", "Jira", _ATLASSIAN_MODES, base_url_form="BaseURL itself"),
        Integration("confluence", "Confluence", _ATLASSIAN_MODES, base_url_form="BaseURL itself"),
        Integration(
            "twilio",
            "Twilio",
            (
                AuthMode(
                    "token",
                    "the account SID and its auth token",
                    (Field("AccountSID", "account SID (AC…)", secret=False), Field("Password", "auth token")),
                    derived=(("Username", "AccountSID"),),
                ),
                AuthMode(
                    "api_key",
                    "an API key of the account",
                    (
                        Field("AccountSID", "account SID (AC…)", secret=False),
                        Field("Username", "API key SID (SK…)", secret=False),
                        Field("Password", "API key secret"),
                    ),
                ),
            ),
            optional=(_url("http://host:port/"),),
            base_url_form="http://host:port/",
        ),
        Integration(
            "http",
            "HTTP",
            (
                AuthMode("none", "no credentials", ()),
                AuthMode("bearer", "a bearer token", (Field("token", "token"),)),
                AuthMode(
                    "basic",
                    "a user name and password",
                    (Field("username", "user name", secret=False), Field("password", "password")),
                ),
            ),
            optional=(_url("http://host:port/"),),
            base_url_form="http://host:port/",
        ),
    )
}


def integration_of(name: str) -> Integration | None:
    """The catalog's entry (None for an integration purrflow has no client for: its fields are free-form)."""
    return CATALOG.get(name)


def check_field_names(names: list[str]) -> None:
    """Fields become `<connection>__<field>` variables: identifiers only."""
    bad = [key for key in names if not key or not key.replace("_", "").isalnum() or not key.isascii()]
    if bad:
        raise InvalidInputError(
            f"connection field names must be letters, digits and '_': {', '.join(map(repr, bad))}",
            hint="e.g. purr connections set P slack_conn oauth_access_token=xoxb-…",
        )
