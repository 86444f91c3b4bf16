"""Reads AC shared-memory page files with RaceTelemetry's ctypes structs, an independent reader
(PyPI RaceTelemetry, data_structures/AC_SM_struct.py, which mirrors the official AC doc), and
compares every field it defines with pitwall's decoded JSON of the same files.

Usage: shm_racetelemetry.py PAGE_DIR PAGES_JSON [--corrupt PAGE.FIELD]

PAGE_DIR holds acpmf_physics, acpmf_graphics and acpmf_static; PAGES_JSON is what
`pitwall shm dump --json` (or the shm crate's write_pages example) printed for them.
--corrupt changes one value of our JSON first (floats by one float32 step), to show that a
disagreement is caught. Exits non-zero on any disagreement; the last line is
`shm racetelemetry: N passed, M failed`.

RaceTelemetry's AC structs use ctypes.c_wchar, 4 bytes on Linux but 2 bytes (UTF-16) in the
game's pages, and `import RaceTelemetry` fails on Python < 3.12 (its iRacing module uses
ctypes.c_time_t). So AC_SM_struct.py alone is loaded from the installed files, with c_wchar
swapped for c_uint16 while it loads, and the strings are decoded here as UTF-16LE.
"""

from __future__ import annotations

import argparse
import ctypes
import importlib.metadata
import importlib.util
import json
import math
import re
import struct
import sys
from fractions import Fraction
from pathlib import Path

# RaceTelemetry field names that are not the snake_case of our (docs/shm.md's) names.
ALIASES = {
    "rpm": "rpms",
    "wheelPressure": "wheels_pressure",
    "TyreCoreTemp": "tyre_core_temperature",
    "autoshifterOn": "auto_shifter_on",
    "AllowTyreBlankets": "aid_allow_tyre_blankets",
    "aidAutoclutch": "aid_auto_clutch",
}

# Our fields that RaceTelemetry does not define, and why that is expected: the physics tail
# past the documented 580 bytes (docs/shm.md, "The physics tail"), which RaceTelemetry, following
# the AC doc, stops before.
EXPECTED_OURS_ONLY = {
    "physics": {
        "p2p_activations", "p2p_status", "current_max_rpm", "mz", "fx", "fy", "slip_ratio",
        "slip_angle", "tcin_action", "abs_in_action", "suspension_damage", "tyre_temp",
    },
    "graphics": set(),
    "static": set(),
}

# Our page sizes for the documented layouts (docs/shm.md).
SIZES = {"physics": 580, "graphics": 296, "static": 684}


def load_ac_structs():
    """AC_SM_struct.py from the installed RaceTelemetry, loaded with 2-byte wide chars."""
    dist = importlib.metadata.distribution("RaceTelemetry")
    path = next(
        (Path(dist.locate_file(f)) for f in dist.files or [] if str(f).replace("\\", "/").endswith(
            "RaceTelemetry/data_structures/AC_SM_struct.py")),
        None,
    )
    if path is None or not path.is_file():
        sys.exit("RaceTelemetry's data_structures/AC_SM_struct.py not found in the installed package")
    spec = importlib.util.spec_from_file_location("racetelemetry_ac_sm_struct", path)
    module = importlib.util.module_from_spec(spec)
    wchar = ctypes.c_wchar
    ctypes.c_wchar = ctypes.c_uint16  # the Windows wchar_t: 2 bytes
    try:
        spec.loader.exec_module(module)
    finally:
        ctypes.c_wchar = wchar
    return dist.version, path, module


def snake(name: str) -> str:
    """camelCase (with acronyms) to snake_case: camberRAD -> camber_rad, isAIControlled ->
    is_ai_controlled, iCurrentTime -> i_current_time, PitWindowEnd -> pit_window_end."""
    name = name.strip()  # RaceTelemetry spells one field "airDensity " (trailing space)
    if name in ALIASES:
        return ALIASES[name]
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", s)
    return s.lower()


def flatten(value):
    if isinstance(value, (list, tuple)):
        return [x for v in value for x in flatten(v)]
    return [value]


def ctype_scalar(ctype):
    while issubclass(ctype, ctypes.Array):
        ctype = ctype._type_
    return ctype


def ctype_shape(ctype):
    shape = []
    while issubclass(ctype, ctypes.Array):
        shape.append(ctype._length_)
        ctype = ctype._type_
    return shape


def json_shape(value):
    shape = []
    while isinstance(value, list):
        shape.append(len(value))
        value = value[0] if value else None
    return shape


def rt_value(obj, name, ctype):
    """A field as RaceTelemetry's struct holds it: str for the wchar arrays (UTF-16LE up to the
    first NUL unit), else a flat list of numbers (a one-element list for a scalar)."""
    value = getattr(obj, name)
    scalar = ctype_scalar(ctype)
    if scalar is ctypes.c_uint16:
        units = list(value)
        end = units.index(0) if 0 in units else len(units)
        return struct.pack(f"<{end}H", *units[:end]).decode("utf-16-le", errors="replace")
    if isinstance(value, ctypes.Array):
        flat = []
        stack = [value]
        while stack:  # depth-first, in memory order
            item = stack.pop(0)
            if isinstance(item, ctypes.Array):
                stack[0:0] = list(item)
            else:
                flat.append(item)
        return flat
    return [value]


def f32_bits(x: float) -> int:
    return struct.unpack("<I", struct.pack("<f", x))[0]


def f32_of_bits(bits: int) -> float:
    return struct.unpack("<f", struct.pack("<I", bits))[0]


def f32_of_decimal(text: str) -> int:
    """The float32 (as bits) nearest to the decimal `text`, ties to even: what a correct f32
    parse gives. (Python parses to f64; rounding that to f32 could round twice.)"""
    exact = Fraction(text)
    guess = f32_bits(float(text))
    best = None
    for bits in (guess - 1, guess, guess + 1):
        if not 0 <= bits <= 0xFFFFFFFF:
            continue
        value = f32_of_bits(bits)
        if not math.isfinite(value):
            continue
        key = (abs(Fraction(value) - exact), bits & 1)  # nearest, then even mantissa
        if best is None or key < best[0]:
            best = (key, bits)
    return best[1]


class Enum:
    """RaceTelemetry's IntEnums as the oracle for our enum names."""

    def __init__(self, module):
        self.by_field = {"status": module.AC_STATUS, "session": module.AC_SESSION_TYPE, "flag": module.AC_FLAG_TYPE}

    def name(self, field, code):
        try:
            member = self.by_field[field](code)
        except ValueError:
            return {"unknown": code}
        name = member.name.removeprefix("AC_").lower()
        if field == "flag" and name != "no_flag":
            name = name.removesuffix("_flag")  # AC_CHECKERED_FLAG -> checkered
        if field == "session" and name == "unknown":
            name = "unspecified"  # AC_UNKNOWN (-1); our `unknown` means a code not in docs/shm.md
        return name


def compare(page, field, ctype, theirs, ours, enums):
    """None when they agree, else a description of the difference."""
    scalar = ctype_scalar(ctype)
    if isinstance(theirs, str):
        return None if ours == theirs else f"RaceTelemetry {theirs!r}, ours {ours!r}"
    if field in enums.by_field and page == "graphics":
        expected = enums.name(field, theirs[0])
        return None if ours == expected else f"RaceTelemetry {theirs[0]} ({expected!r}), ours {ours!r}"
    ours_flat = flatten(ours)
    if len(ours_flat) != len(theirs):
        return f"RaceTelemetry has {len(theirs)} values, ours {len(ours_flat)}"
    diffs = []
    for i, (t, o) in enumerate(zip(theirs, ours_flat)):
        where = f"[{i}] " if len(theirs) > 1 else ""
        if scalar is ctypes.c_float:
            if o is None:  # serde_json writes NaN and infinities as null
                ok = not math.isfinite(t)
            elif isinstance(o, bool) or not isinstance(o, (str, int)):
                ok = False
            else:
                ok = f32_of_decimal(str(o)) == f32_bits(t)
            if not ok:
                diffs.append(f"{where}RaceTelemetry {t!r} (f32 {f32_bits(t):#010x}), ours {o}")
        elif isinstance(o, bool):  # a 0/1 int that we decode as a bool
            if t not in (0, 1) or bool(t) != o:
                diffs.append(f"{where}RaceTelemetry {t!r}, ours {o!r}")
        elif not isinstance(o, int) or o != t:
            diffs.append(f"{where}RaceTelemetry {t!r}, ours {o!r}")
    return "; ".join(diffs) or None


def corrupt(pages, target):
    page, _, field = target.partition(".")
    if page not in pages or field not in pages[page]:
        sys.exit(f"--corrupt: no field {target!r} in our JSON")

    def bump(v):
        if isinstance(v, list):
            return [bump(v[0])] + v[1:]
        if isinstance(v, bool):
            return not v
        if isinstance(v, int):
            return v + 1
        if isinstance(v, str) and re.fullmatch(r"-?[0-9.]+(e-?[0-9]+)?", v, re.I):
            bits = f32_of_decimal(v)
            return repr(f32_of_bits(bits + (1 if bits != 0x7F7FFFFF else -1)))  # one float32 step
        if isinstance(v, str):
            return v + "x"
        return 0 if v is None else None

    pages[page][field] = bump(pages[page][field])
    print(f"corrupted our {target}: now {pages[page][field]!r}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("page_dir", type=Path)
    parser.add_argument("pages_json", type=Path)
    parser.add_argument("--corrupt", metavar="PAGE.FIELD")
    args = parser.parse_args()

    version, path, ac = load_ac_structs()
    print(f"RaceTelemetry {version}: {path}")
    # Floats stay decimal strings, so they can be rounded to float32 exactly.
    pages = json.loads(args.pages_json.read_text(encoding="utf-8"), parse_float=str)
    if args.corrupt:
        corrupt(pages, args.corrupt)
    enums = Enum(ac)

    passed = failed = 0
    notes = []

    def check(ok, what):
        nonlocal passed, failed
        if ok:
            passed += 1
        else:
            failed += 1
            print(f"FAIL - {what}")

    structs = {"physics": ac.SPageFilePhysicsData, "graphics": ac.SPageFileGraphicData, "static": ac.SPageFileStaticData}
    for page, cls in structs.items():
        ours = pages.get(page, {})
        size = ctypes.sizeof(cls)
        check(size == SIZES[page], f"{page}: RaceTelemetry's struct is {size} bytes, docs/shm.md's {SIZES[page]}")
        data = (args.page_dir / f"acpmf_{page}").read_bytes()
        if len(data) < size:
            check(False, f"{page}: the page file holds {len(data)} bytes, fewer than {size}")
            continue
        obj = cls.from_buffer_copy(data)
        seen = set()
        compared = 0
        for name, ctype in cls._fields_:
            field = snake(name)
            if field not in ours:
                check(False, f"{page}.{name.strip()}: RaceTelemetry field with no counterpart in our JSON")
                continue
            seen.add(field)
            theirs = rt_value(obj, name, ctype)
            if not isinstance(theirs, str) and ctype_shape(ctype) != json_shape(ours[field]) and len(ctype_shape(ctype)) > 1:
                notes.append(f"{page}.{name.strip()}: RaceTelemetry declares shape {ctype_shape(ctype)}, "
                             f"ours {json_shape(ours[field])}; the same {math.prod(ctype_shape(ctype))} floats in memory order")
            diff = compare(page, field, ctype, theirs, ours[field], enums)
            check(diff is None, f"{page}.{field} ({name.strip()}): {diff}")
            compared += 1
        ours_only = set(ours) - seen
        unexpected = ours_only - EXPECTED_OURS_ONLY[page]
        for field in sorted(unexpected):
            check(False, f"{page}.{field}: our field with no counterpart in RaceTelemetry")
        check(not (EXPECTED_OURS_ONLY[page] - set(ours)),
              f"{page}: expected fields missing from our JSON: {sorted(EXPECTED_OURS_ONLY[page] - set(ours))}")
        renamed = sorted(f"{n!r}->{snake(n)}" for n, _ in cls._fields_ if n.strip() in ALIASES or n != n.strip())
        print(f"{page}: {compared} of RaceTelemetry's {len(cls._fields_)} fields compared"
              + (f" (renamed: {', '.join(renamed)})" if renamed else ""))
        if ours_only:
            print(f"{page}: ours only: {', '.join(sorted(ours_only))}"
                  + (" (the tail past the doc's 580 bytes, see docs/shm.md)" if page == "physics" else ""))
    for note in notes:
        print(f"note: {note}")
    print(f"shm racetelemetry: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
