"""Triggers: what a deployment makes live, their webhook URLs, and which one a name means."""

from __future__ import annotations

from dataclasses import dataclass

from purrflow.engine.notices import Notices
from purrflow.errors import InvalidInputError, NotFoundError
from purrflow.store import Project, Store, Trigger


@dataclass(frozen=True, slots=True)
class Target:
    """What a name given to run resolves to: a code location, and the trigger it came from, if any."""

    entrypoint: str
    trigger: Trigger | None = None


class TriggerService:
    """Triggers are read for every session and event, and change only when a project is deployed or
    deleted: they are kept per project, and webhook triggers by slug, until that says they changed
    (`forget`). A webhook then costs no trigger query at all."""

    def __init__(self, store: Store, notices: Notices, *, public_url: str) -> None:
        self._store = store
        self._notices = notices
        self._public_url = public_url.rstrip("/")
        self._by_project: dict[str, list[Trigger]] = {}
        self._by_slug: dict[str, Trigger] = {}
        notices.on("triggers", self._forget_here)  # a deployment through another API server
        notices.on_resync(self._forget_all)

    def of_project(self, project: Project) -> list[Trigger]:
        return self.of(project.id)

    def of(self, project_id: str) -> list[Trigger]:
        found = self._by_project.get(project_id)
        if found is None:
            found = self._by_project[project_id] = self._store.list_triggers(project_id)
        return found

    def forget(self, project_id: str) -> None:
        """The project's triggers changed (a deployment, its commit failing, the project deleted), here and
        for every other process."""
        self._forget_here(project_id)
        self._notices.publish("triggers", project_id)

    def _forget_all(self) -> None:
        self._by_project.clear()
        self._by_slug.clear()

    def _forget_here(self, project_id: str) -> None:
        self._by_project.pop(project_id, None)
        for slug in [slug for slug, trigger in self._by_slug.items() if trigger.project_id == project_id]:
            del self._by_slug[slug]

    def by_slug(self, slug: str) -> Trigger | None:
        """The webhook trigger at `/webhooks/<slug>` (unknown slugs are not remembered: a deployment may
        make them live, and a flood of them must not grow the cache)."""
        trigger = self._by_slug.get(slug)
        if trigger is None:
            trigger = self._store.get_trigger_by_slug(slug)
            if trigger is not None:
                self._by_slug[slug] = trigger
        return trigger

    def webhook_url(self, trigger: Trigger) -> str | None:
        return f"{self._public_url}/webhooks/{trigger.slug}" if trigger.slug else None

    def runnable(self, project: Project) -> dict[str, Trigger]:
        """The project's triggers that call a function or command, by name."""
        return {t.name: t for t in self.of(project.id) if t.call}

    def target(self, project: Project, name: str) -> Target:
        """A trigger's name means the trigger's call; anything else is a code location as it is.

        One rule for the API, `purr run` and CTO.ai's `start(workflowName)`."""
        trigger = self.runnable(project).get(name)
        if trigger is not None and trigger.call:
            return Target(trigger.call, trigger)
        return Target(name)

    def workflow(self, project: Project, name: str, *, where: str) -> Trigger:
        """The trigger `name` of `project`, which must call something (CTO.ai's workflows)."""
        triggers = self.runnable(project)
        trigger = triggers.get(name)
        if trigger is None:
            raise NotFoundError(
                f"{where}: project {project.name!r} has no workflow {name!r}",
                hint=f"its workflows are: {', '.join(sorted(triggers)) or 'none'}",
            )
        return trigger

    def default_target(self, project: Project) -> str:
        """What `purr run DIR` runs when no name is given: the one thing the project's triggers call."""
        by_name = {name: trigger.call for name, trigger in self.runnable(project).items() if trigger.call}
        if len(set(by_name.values())) == 1:
            return next(iter(by_name.values()))
        if not by_name:
            raise InvalidInputError(
                "the project's triggers call no function, so there is nothing to run by default",
                hint="name one: purr run DIR file.py:function",
            )
        listed = ", ".join(f"{name} ({call})" for name, call in sorted(by_name.items()))
        raise InvalidInputError(
            f"the project has {len(by_name)} triggers to run: {listed}",
            hint=f"name the one to run: purr run DIR {min(by_name)}",
        )

    def sources(self, project: Project) -> set[str]:
        """What events of this project may come from: its triggers and its connections."""
        return {t.name for t in self.of(project.id)} | set(self._store.list_connections(project.id))
