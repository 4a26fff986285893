"""Finding a team's records by the first characters of their id (`purr sessions show ses_019a2b`)."""

from __future__ import annotations

from purrflow.store._db import Database

#: For each id prefix: the rows (`x`), the condition that keeps them to one team (its `?` is the team's
#: id), and the column naming the user a row belongs to, where rows have one.
_SCOPES: dict[str, tuple[str, str, str | None]] = {
    "ses": ("sessions x JOIN projects p ON p.id = x.project_id", "p.team_id = ?", None),
    "evt": ("events x JOIN projects p ON p.id = x.project_id", "p.team_id = ?", None),
    "prm": ("prompts x", "x.team_id = ?", None),
    "tok": ("tokens x JOIN users u ON u.id = x.user_id", "u.team_id = ? AND x.revoked_at IS NULL", "x.user_id"),
}

#: Sorts after every character an id holds, so `prefix <= id < prefix + _AFTER` is a range on the index.
_AFTER = "\x7f"


class IdStore(Database):
    def ids_with_prefix(
        self, kind: str, team_id: str, prefix: str, *, limit: int, user_id: str | None = None
    ) -> list[str]:
        """The team's ids of `kind` (`ses`, `prm`…) that start with `prefix`, in order, at most `limit`;
        only `user_id`'s rows when given (for kinds whose rows belong to a user)."""
        rows, scope, owner = _SCOPES[kind]
        sql = f"SELECT x.id FROM {rows} WHERE {scope} AND x.id >= ? AND x.id < ?"
        params: list[object] = [team_id, prefix, prefix + _AFTER]
        if user_id is not None:
            assert owner is not None, f"{kind} rows belong to no user"  # internal: callers pass known kinds
            sql += f" AND {owner} = ?"
            params.append(user_id)
        sql += " ORDER BY x.id LIMIT ?"
        params.append(limit)
        return [row[0] for row in self._all(sql, *params)]
