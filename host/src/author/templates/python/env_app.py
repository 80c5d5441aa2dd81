"""@@NAME@@: @@SUMMARY@@

Made by `panther-host plugin new --kind environment`. An environment plugin places the services
of a test: for each one, the host it runs on, the services it waits for, its networks, mounts
and environment, and what to capture. The host checks the deployment against its policy and
carries it out with the executor of the declared kind (here `localhost`: local processes).
Nothing here runs anything, reads files or sees the network.

Built by componentize-py with `--stub-wasi` (the Makefile), so the component imports nothing but
the host's `log`.
"""

from typing import List

from componentize_py_types import Err
from wit_world import exports
from wit_world.exports import environment
from wit_world.imports import types

NAME = "@@NAME@@"
HOST = "127.0.0.1"


def _start_order(services: List[environment.ServiceEntry]) -> List[environment.ServiceEntry]:
    """Each service after the one it targets; otherwise servers first, then the experiment's
    order. A missing target, or a cycle, is an error naming the services."""
    placed: List[environment.ServiceEntry] = []
    names = lambda: [p.name for p in placed]
    while len(placed) < len(services):
        ready = [s for s in services if s.name not in names() and (s.target is None or s.target in names())]
        if not ready:
            waiting = ["`" + s.name + "` (waits for `" + str(s.target) + "`)" for s in services if s.name not in names()]
            raise Err(types.PluginError_Unsupported("these services can never start: " + ", ".join(waiting)))
        ready.sort(key=lambda s: s.role == types.Role.CLIENT or s.tester)
        placed.append(ready[0])
    return placed


class Environment(exports.Environment):
    def describe(self) -> types.PluginInfo:
        return types.PluginInfo(
            name=NAME,
            version="0.1.0",
            kind=types.PluginKind.ENVIRONMENT,
            description="@@SUMMARY@@",
            protocols=[],
            roles=[],
            versions=[],
            sources=[],
            parameters=[],
            environments=[types.EnvironmentKind.LOCALHOST],
        )

    def deploy(self, request: environment.DeployRequest) -> environment.DeploymentPlan:
        for key, _ in request.params:
            raise Err(types.PluginError_InvalidParam(types.ParamProblem(name=key, message=NAME + " takes no parameters")))
        placements = [
            environment.Placement(
                service=s.name,
                host=HOST,
                aliases=[],
                networks=[],
                # A service starts once the one it targets is ready.
                after=[s.target] if s.target is not None else [],
                mounts=[],
                env=[],
            )
            for s in _start_order(request.services)
        ]
        return environment.DeploymentPlan(
            kind=types.EnvironmentKind.LOCALHOST,
            networks=[],
            placements=placements,
            capture=environment.Capture(interface="lo", ports_only=True),
            # On localhost the host places a link's relays itself.
            relays=[],
        )
