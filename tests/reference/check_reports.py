#!/usr/bin/env python3
"""check_reports.py: independent checks of the report files `hrm analyze --report` writes; run by
tests/test_reports.cpp with Debian's /usr/bin/python3 (python3-jsonschema, python3-pil, chromium).

  check_reports.py html PAGE.html OUTDIR PLOT_ID...   self-contained, well-formed SVG, and in headless
                                                       Chromium: no console message, every plot drawn
  check_reports.py schema DOC.json SCHEMA.json [DEF]  JSON Schema validation (DEF: a name in $defs)
  check_reports.py sarif LOG.sarif                    SARIF 2.1.0 structure, as GitHub code scanning reads it

Prints one line per problem and exits 1, or prints "ok: ..." and exits 0.

How the plots are found on the screenshot: the page itself has no script (its Content-Security-Policy
forbids them), so a copy of it with the policy removed and a measuring script added is loaded with
--dump-dom; the script writes every plot's page box into the DOM. The original page is then
screenshotted at the same width and at the full page height, so the boxes are valid there too.
Inside each box the test counts chromatic pixels: axes, grid and text are grey, data is drawn in the
palette's colours, so a plot without data has (almost) none.
"""
import html
import json
import os
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

WIDTH = 1280
MIN_DATA_PIXELS = 150  # a drawn series or bar covers thousands; a stray legend swatch ~100

MEASURE = """<script>
const boxes = {};
for (const e of document.querySelectorAll('svg[id^="plot-"]')) {
  const r = e.getBoundingClientRect();
  boxes[e.id] = [r.left + scrollX, r.top + scrollY, r.width, r.height];
}
document.body.setAttribute('data-boxes', JSON.stringify({boxes, height: document.documentElement.scrollHeight}));
</script>"""


def chromium(args, user_dir):
    cmd = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-extensions",
           "--hide-scrollbars", "--force-device-scale-factor=1", "--mute-audio", f"--user-data-dir={user_dir}"] + args
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def check_static(page, problems):
    if 'http-equiv="Content-Security-Policy"' not in page:
        problems.append("no Content-Security-Policy meta element")
    for pattern, what in [(r"<script", "a script"), (r"<link", "a <link>"), (r"@import", "a CSS @import"),
                          (r"url\((?!#)", "a CSS/SVG url() that is not a fragment"),
                          (r"(?:src|href)\s*=\s*\"(?:https?:)?//", "a remote src/href")]:
        if re.search(pattern, page, re.I):
            problems.append(f"the page contains {what}")
    svgs = re.findall(r"<svg\b.*?</svg>", page, re.S)
    for s in svgs:
        try:
            ET.fromstring(s)
        except ET.ParseError as e:
            problems.append(f"SVG is not well-formed XML: {e}: {s[:80]}")
    return svgs


def check_html(page_path, outdir, plot_ids):
    problems = []
    page = open(page_path, encoding="utf-8").read()
    svgs = check_static(page, problems)
    os.makedirs(outdir, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        measured = re.sub(r"<meta http-equiv=\"Content-Security-Policy\"[^>]*>", "", page).replace("</body>", MEASURE + "</body>")
        copy = os.path.join(tmp, "measure.html")
        open(copy, "w", encoding="utf-8").write(measured)
        dom = chromium(["--dump-dom", f"--window-size={WIDTH},1000", "file://" + copy], os.path.join(tmp, "u1"))
        m = re.search(r'data-boxes="([^"]*)"', dom.stdout)
        if not m:
            print(f"could not measure the plots: chromium exit {dom.returncode}: {dom.stderr[-2000:]}")
            return 1
        info = json.loads(html.unescape(m.group(1)))
        height = int(info["height"]) + 10
        shot = os.path.join(outdir, os.path.basename(page_path) + ".png")
        run = chromium(["--enable-logging=stderr", "--v=0", f"--screenshot={shot}", f"--window-size={WIDTH},{height}",
                        "file://" + os.path.abspath(page_path)], os.path.join(tmp, "u2"))
    for line in run.stderr.splitlines():
        if ":CONSOLE" in line or "Refused to" in line or "Failed to load" in line:
            problems.append(f"console: {line.strip()}")
    if not os.path.exists(shot):
        problems.append(f"no screenshot: chromium exit {run.returncode}: {run.stderr[-2000:]}")
    else:
        from PIL import Image
        img = Image.open(shot).convert("RGB")
        for pid in plot_ids:
            if pid not in info["boxes"]:
                problems.append(f"plot {pid} is not on the page")
                continue
            x, y, w, h = (int(round(v)) for v in info["boxes"][pid])
            if w < 100 or h < 80:
                problems.append(f"plot {pid} is {w}x{h} px")
                continue
            crop = img.crop((x, y, x + w, y + h))
            data = sum(1 for (r, g, b) in crop.getdata() if max(r, g, b) - min(r, g, b) > 60)
            if data < MIN_DATA_PIXELS:
                problems.append(f"plot {pid} at {x},{y} {w}x{h} has {data} data-coloured pixels (< {MIN_DATA_PIXELS})")
    for p in problems:
        print(p)
    if not problems:
        print(f"ok: {len(svgs)} well-formed SVGs, {len(plot_ids)} plots drawn, no console messages; screenshot {shot}")
    return 1 if problems else 0


def check_schema(doc_path, schema_path, definition=None):
    import jsonschema
    doc = json.load(open(doc_path))
    schema = json.load(open(schema_path))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    if definition:
        schema = {"$schema": schema["$schema"], "$defs": schema["$defs"], "$ref": f"#/$defs/{definition}"}
    errors = sorted(cls(schema).iter_errors(doc), key=lambda e: list(e.absolute_path))
    for e in errors:
        print(f"{'/'.join(str(p) for p in e.absolute_path) or '(root)'}: {e.message}")
    if not errors:
        print(f"ok: {doc_path} matches {schema_path}{' $defs/' + definition if definition else ''}")
    return 1 if errors else 0


# The SARIF 2.1.0 objects hrm writes, transcribed from the OASIS schema (sarif-schema-2.1.0.json):
# the same property names, types, enums, minimums and required lists; additionalProperties is false
# wherever the OASIS schema says so, so a misspelt or invented property fails here as it would there.
def _obj(props, required=()):
    return {"type": "object", "additionalProperties": False, "properties": props, "required": list(required)}


_MESSAGE = _obj({"text": {"type": "string"}, "markdown": {"type": "string"}, "id": {"type": "string"},
                 "arguments": {"type": "array", "items": {"type": "string"}}, "properties": {"$ref": "#/definitions/propertyBag"}},
                ["text"])
SARIF_SCHEMA = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "definitions": {
        "propertyBag": {"type": "object", "properties": {"tags": {"type": "array", "uniqueItems": True, "items": {"type": "string"}}}},
        "message": _MESSAGE,
        "multiformatMessageString": _obj({"text": {"type": "string"}, "markdown": {"type": "string"},
                                          "properties": {"$ref": "#/definitions/propertyBag"}}, ["text"]),
        "reportingConfiguration": _obj({"enabled": {"type": "boolean"}, "level": {"enum": ["none", "note", "warning", "error"]},
                                        "rank": {"type": "number", "minimum": -1, "maximum": 100},
                                        "parameters": {"$ref": "#/definitions/propertyBag"},
                                        "properties": {"$ref": "#/definitions/propertyBag"}}),
        "reportingDescriptor": _obj({"id": {"type": "string"}, "name": {"type": "string"},
                                     "shortDescription": {"$ref": "#/definitions/multiformatMessageString"},
                                     "fullDescription": {"$ref": "#/definitions/multiformatMessageString"},
                                     "help": {"$ref": "#/definitions/multiformatMessageString"},
                                     "helpUri": {"type": "string", "format": "uri"},
                                     "defaultConfiguration": {"$ref": "#/definitions/reportingConfiguration"},
                                     "properties": {"$ref": "#/definitions/propertyBag"}}, ["id"]),
        "toolComponent": _obj({"name": {"type": "string"}, "fullName": {"type": "string"}, "version": {"type": "string"},
                               "semanticVersion": {"type": "string"}, "informationUri": {"type": "string", "format": "uri"},
                               "rules": {"type": "array", "uniqueItems": True, "items": {"$ref": "#/definitions/reportingDescriptor"}},
                               "properties": {"$ref": "#/definitions/propertyBag"}}, ["name"]),
        "tool": _obj({"driver": {"$ref": "#/definitions/toolComponent"}, "properties": {"$ref": "#/definitions/propertyBag"}}, ["driver"]),
        "artifactLocation": _obj({"uri": {"type": "string", "format": "uri-reference"}, "uriBaseId": {"type": "string"},
                                  "index": {"type": "integer", "minimum": -1}, "description": {"$ref": "#/definitions/message"},
                                  "properties": {"$ref": "#/definitions/propertyBag"}}),
        "region": _obj({"startLine": {"type": "integer", "minimum": 1}, "startColumn": {"type": "integer", "minimum": 1},
                        "endLine": {"type": "integer", "minimum": 1}, "endColumn": {"type": "integer", "minimum": 1},
                        "charOffset": {"type": "integer", "minimum": -1}, "charLength": {"type": "integer", "minimum": 0},
                        "message": {"$ref": "#/definitions/message"}, "properties": {"$ref": "#/definitions/propertyBag"}}),
        "physicalLocation": _obj({"artifactLocation": {"$ref": "#/definitions/artifactLocation"},
                                  "region": {"$ref": "#/definitions/region"}, "contextRegion": {"$ref": "#/definitions/region"},
                                  "properties": {"$ref": "#/definitions/propertyBag"}}),
        "location": _obj({"id": {"type": "integer", "minimum": -1}, "physicalLocation": {"$ref": "#/definitions/physicalLocation"},
                          "message": {"$ref": "#/definitions/message"}, "properties": {"$ref": "#/definitions/propertyBag"}}),
        "result": _obj({"ruleId": {"type": "string"}, "ruleIndex": {"type": "integer", "minimum": -1},
                        "kind": {"enum": ["notApplicable", "pass", "fail", "review", "open", "informational"]},
                        "level": {"enum": ["none", "note", "warning", "error"]}, "message": {"$ref": "#/definitions/message"},
                        "locations": {"type": "array", "items": {"$ref": "#/definitions/location"}},
                        "partialFingerprints": {"type": "object", "additionalProperties": {"type": "string"}},
                        "properties": {"$ref": "#/definitions/propertyBag"}}, ["message"]),
        "invocation": _obj({"commandLine": {"type": "string"}, "arguments": {"type": "array", "items": {"type": "string"}},
                            "exitCode": {"type": "integer"}, "executionSuccessful": {"type": "boolean"},
                            "properties": {"$ref": "#/definitions/propertyBag"}}, ["executionSuccessful"]),
        "run": _obj({"tool": {"$ref": "#/definitions/tool"},
                     "invocations": {"type": "array", "items": {"$ref": "#/definitions/invocation"}},
                     "results": {"type": "array", "items": {"$ref": "#/definitions/result"}},
                     "properties": {"$ref": "#/definitions/propertyBag"}}, ["tool"]),
    },
    **_obj({"$schema": {"type": "string", "format": "uri"}, "version": {"enum": ["2.1.0"]},
            "runs": {"type": ["array", "null"], "items": {"$ref": "#/definitions/run"}},
            "properties": {"$ref": "#/definitions/propertyBag"}}, ["version", "runs"]),
}


def check_sarif(path):
    import jsonschema
    log = json.load(open(path))
    problems = [f"{'/'.join(str(p) for p in e.absolute_path) or '(root)'}: {e.message}"
                for e in jsonschema.Draft7Validator(SARIF_SCHEMA).iter_errors(log)]
    if not problems:  # what GitHub code scanning needs on top of the schema
        for run in log["runs"]:
            rules = run["tool"]["driver"].get("rules", [])
            for i, res in enumerate(run.get("results", [])):
                where = f"runs/results/{i}"
                if not (0 <= res.get("ruleIndex", -1) < len(rules)) or rules[res["ruleIndex"]]["id"] != res.get("ruleId"):
                    problems.append(f"{where}: ruleIndex does not name rule {res.get('ruleId')}")
                if not res["message"]["text"].strip():
                    problems.append(f"{where}: empty message")
                locs = res.get("locations", [])
                if not locs or "region" not in locs[0].get("physicalLocation", {}):
                    problems.append(f"{where}: no physical location with a region")
                elif "://" in locs[0]["physicalLocation"]["artifactLocation"]["uri"] and \
                        not locs[0]["physicalLocation"]["artifactLocation"]["uri"].startswith("file://"):
                    problems.append(f"{where}: the artifact is not a file")
    for p in problems:
        print(p)
    if not problems:
        print(f"ok: {path} is SARIF 2.1.0 with {sum(len(r.get('results', [])) for r in log['runs'])} located results")
    return 1 if problems else 0


def main(argv):
    if len(argv) >= 4 and argv[1] == "html":
        return check_html(argv[2], argv[3], argv[4:])
    if len(argv) in (4, 5) and argv[1] == "schema":
        return check_schema(argv[2], argv[3], argv[4] if len(argv) == 5 else None)
    if len(argv) == 3 and argv[1] == "sarif":
        return check_sarif(argv[2])
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
