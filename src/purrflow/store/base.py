"""`SQLStore`: every concern's statements over the shared base — the store the engine and services use.

Each concern (sessions, projects, identity, …) is a mixin over `Database` in a module of its own; this
class puts them together once, so both dialects (sqlite.py, postgres.py) are the same store with a
different connection, and mypy checks every caller against one set of methods. `Store` (the name the
rest of purrflow imports) is this class: its public methods are the store's protocol.
"""

from __future__ import annotations

from purrflow.store._analytics import AnalyticsStore
from purrflow.store._config import ConfigStore
from purrflow.store._connections import ConnectionStore
from purrflow.store._folders import FolderStore
from purrflow.store._identity import IdentityStore
from purrflow.store._ids import IdStore
from purrflow.store._keys import KeyStore
from purrflow.store._projects import ProjectStore
from purrflow.store._prompts import PromptStore
from purrflow.store._secrets import SecretStore
from purrflow.store._sessions import SessionStore
from purrflow.store._signals import SignalStore
from purrflow.store._subscriptions import SubscriptionStore
from purrflow.store._values import EventStore, ValueStore
from purrflow.store._vars import VarStore


class SQLStore(
    IdentityStore,
    ProjectStore,
    ConnectionStore,
    SessionStore,
    SignalStore,
    SubscriptionStore,
    ValueStore,
    EventStore,
    ConfigStore,
    PromptStore,
    SecretStore,
    AnalyticsStore,
    VarStore,
    FolderStore,
    IdStore,
    KeyStore,
):
    #: What the store is, for people: a file's path or a database URL without its password.
    where = ""
