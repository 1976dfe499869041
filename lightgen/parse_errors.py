"""One line from jsonargparse's error messages, for ``lightgen fit|validate|test|predict``.

jsonargparse answers a bad option with the command's whole usage (some 80 lines) and a nested error
tree, e.g. for ``--model.init_args.latent_dim abc``::

    Parser key "model":
      Does not validate against any of the Union subtypes
      Subtypes: [<class 'lightgen.models.base.GenerativeModel'>, <class 'NoneType'>]
      Errors:
        - Problem with given class_path 'lightgen.models.GAN':
            Parser key "latent_dim":
              Expected a <class 'int'>. Got value: abc
        - Expected a <class 'NoneType'>
      ...

:func:`one_line` keeps the deepest error of that tree and the option that leads to it:
``--model.init_args.latent_dim (lightgen.models.GAN): expected an int; got 'abc'``. A message it does
not recognise is joined into one line as it is. Standard library only.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

_KEY = re.compile(r'^(?:- )?Parser key "([^"]+)":$')
_CLASS = re.compile(r"^(?:- )?Problem with given class_path '([^']+)':$")
_SUBTYPES = re.compile(r"^Subtypes: \[<class '([\w.]+)'>")
_GIVEN = re.compile(r"^Given value: (.*)$")
_NOISE = re.compile(
    r"^(?:- )?(?:Does not validate against any of the Union subtypes|Errors:|Given value type: .*|Subtypes: .*"
    r"|Expected a <class 'NoneType'>)$"
)
_EXPECTED = re.compile(r"^(?:- )?Expected a (.+?)\. Got value: (.*)$")
_UNION_MEMBER = re.compile(r"^(?:- )?Expected a (<class '\w+'>|typing\.Literal\[.*\])$")
_UNKNOWN_OPTION = re.compile(r"^(?:- )?Option '([^']+)' is not accepted$")
_UNKNOWN_CLASS = re.compile(
    r"^(?:- )?(?:Expected a path but (\S+) either not accessible or invalid|Expected a dot import path string: (\S+)"
    r"|module '[\w.]+' has no attribute '(\w+)')$"
)
_NESTED_ARG = re.compile(r"^NestedArg\(key='([^']*)', val=(.*)\)$")
_ARTICLE = {"int": "an int", "float": "a float", "bool": "true or false", "str": "a string"}


@dataclass
class _Level:
    indent: int
    key: str | None = None  # a `Parser key "..."` level
    class_path: str | None = None  # a `Problem with given class_path '...'` level
    base: str | None = None  # the class that a subclass-typed key expects (its `Subtypes:` line)
    given: str | None = None
    leaves: list[str] = field(default_factory=list)


def _type_name(text: str) -> str:
    """``<class 'int'>`` -> ``an int``; ``typing.Literal['a', 'b']`` -> ``one of 'a', 'b'``."""
    simple = re.fullmatch(r"<class '([\w.]+)'>", text)
    if simple:
        name = simple.group(1).rsplit(".", 1)[-1]
        return _ARTICLE.get(name, f"a {name}")
    literal = re.fullmatch(r"typing\.Literal\[(.*)\]", text)
    return f"one of {literal.group(1)}" if literal else text


def _union(leaves: list[str]) -> str:
    """Lines ``Expected a typing.Literal[1, 2]``, ``Expected a <class 'bool'>`` -> ``one of 1, 2 or true or false``."""
    values, types = [], []
    for leaf in leaves:
        member = _UNION_MEMBER.match(leaf).group(1)  # type: ignore[union-attr]
        literal = re.fullmatch(r"typing\.Literal\[(.*)\]", member)
        (values if literal else types).append(literal.group(1) if literal else _type_name(member))
    return " or ".join(([f"one of {', '.join(values)}"] if values else []) + types)


def _option(levels: list[_Level]) -> str:
    parts: list[str] = []
    for level in levels:
        if level.key:
            parts.append(level.key)
        elif level.class_path:
            parts.append("init_args")
    return "--" + ".".join(parts) if parts else "a config value"


def one_line(message: str, command: str = "fit", known: Callable[[str], str] | None = None) -> str:
    """The one line to show for jsonargparse's ``message`` (see the module docstring). ``known(base)``
    names the classes that a subclass-typed option accepts (``base``: the dotted path of their base)."""
    stack: list[_Level] = []
    best: tuple[int, list[_Level], str] | None = None  # (depth, path to it, leaf text)
    for raw in message.splitlines():
        text = raw.strip()
        if not text:
            continue
        indent = len(raw) - len(raw.lstrip())
        while stack and stack[-1].indent >= indent and not (_GIVEN.match(text) or _SUBTYPES.match(text)):
            stack.pop()
        key, cls = _KEY.match(text), _CLASS.match(text)
        if key or cls:
            stack.append(_Level(indent, key=key.group(1) if key else None, class_path=cls.group(1) if cls else None))
        elif _GIVEN.match(text) or _SUBTYPES.match(text):
            owner = next((lv for lv in reversed(stack) if lv.indent < indent), None)
            if owner is not None and _GIVEN.match(text):
                owner.given = owner.given or _GIVEN.match(text).group(1)
            elif owner is not None and (base := _SUBTYPES.match(text)) and base.group(1) not in ("bool", "int", "str"):
                owner.base = owner.base or base.group(1)
        elif not _NOISE.match(text) and stack:
            stack[-1].leaves.append(text)
            if best is None or indent > best[0]:
                best = (indent, list(stack), text)
    if best is None:
        return " ".join(line.strip() for line in message.splitlines() if line.strip())
    _, path, leaf = best
    option, owner = _option(path), path[-1]
    where = next((f" ({lv.class_path})" for lv in reversed(path) if lv.class_path), "")
    if found := _EXPECTED.match(leaf):
        return f"{option}{where}: expected {_type_name(found.group(1))}; got {found.group(2)!r}"
    if found := _UNKNOWN_OPTION.match(leaf):
        name = (owner.class_path or "").rsplit(".", 1)[-1]
        root = next((lv.key for lv in path if lv.key), "model")
        return (
            f"{option}.{found.group(1)}: {owner.class_path} has no option {found.group(1)!r}; "
            f"`lightgen {command} --{root}.help {name}` lists its options"
        )
    if found := _UNKNOWN_CLASS.match(leaf):
        name = next(g for g in found.groups() if g)
        base = next((lv.base for lv in reversed(path) if lv.base), None)
        choices = known(base) if known and base else ""
        expected = f"expected one of {choices}" if choices else "expected a class name"
        if owner.class_path:  # `class_path: lightgen.models.NoSuch` in a config
            name, option = owner.class_path, _option(path[:-1])
        return f"{option}: {name!r} is not a known class; {expected} (or a full class path)"
    if all(_UNION_MEMBER.match(t) for t in owner.leaves) and owner.given is not None:
        given = _NESTED_ARG.match(owner.given)
        return f"{option}: expected {_union(owner.leaves)}; got {given.group(2) if given else repr(owner.given)}"
    return f"{option}{where}: {leaf}"
