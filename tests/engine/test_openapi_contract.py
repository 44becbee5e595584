"""The engine's OpenAPI document against the engine itself: a bounded schemathesis run with every check.

Positive and negative data for every operation, the coverage, fuzzing and stateful phases, with a ready
template and a running instance on real Podman so that operations reach their logic rather than a 404.
A request the document allows must not be refused, one it forbids must be, every answer must be one the
document lists, in its shape, and nothing may be a server error. Two operations are left out, because
they end the engine under test by design: ``POST /engine/shutdown`` and ``POST /engine/exit-when-idle``
(``{"enabled": true}`` stops an idle engine). ``GET /events`` never ends: each case reads it for 1 s.

Before the document was built from the rules (engine/openapi.py), this run found 28 failures: empty
images, gcr types with other hosts and empty tasks got 422s the schema allowed, 400/404/409 answers
were undocumented, and TRACE got 405 without ``Allow``.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

from stack.builds_api import new_instance, ready_template
from stack.engine_proc import EngineProc
from stack.images import StackImages

EXAMPLES = 10  # per operation and phase: about 850 requests, ~15 s on the 2-core CI machine
ENDS_ENGINE = ("/engine/shutdown", "/engine/exit-when-idle")  # see the docstring: they stop the engine under test
RUN_LIMIT = 240.0  # far above the run's usual time: past it the run is hung, and the test says so


def _config(engine: EngineProc, images: StackImages, where: Path) -> Path:
    """Real IDs for schemathesis to use half of the time, so operations get past "no such template"."""
    template = ready_template(engine, images.open_busybox.ref, "contract")
    instance = new_instance(engine, template, "contract")
    path = where / "schemathesis.toml"
    path.write_text(f"""
[dictionaries.templates]
values = ["{template}"]
[dictionaries.instances]
values = ["{instance}"]
[parameters]
"body.containerTemplateId" = {{ dictionary = "templates", probability = 0.5 }}
"path.template_id" = {{ dictionary = "templates", probability = 0.3 }}
"path.instance_id" = {{ dictionary = "instances", probability = 0.5 }}

# A schema-valid rebuild may rightly be refused with a 422: a template whose last build had credentials needs
# them again (credentials_required, field registryAuth). That is the template's state, which no schema can say.
[[operations]]
include-path = "/container-templates/{{template_id}}/rebuild"
[operations.checks.positive_data_acceptance]
expected-statuses = ["2xx", "401", "403", "404", "409", "422"]

# The event stream never ends: read each answer for a second (or one event), on a few cases.
[[operations]]
include-path = "/events"
request-timeout = 1.0
max-stream-events = 1
[operations.generation]
max-examples = 3
""")
    return path


def test_schemathesis_finds_no_server_error_and_no_mismatch(instances_engine: EngineProc, images: StackImages,
                                                            tmp_path: Path) -> None:
    config = _config(instances_engine, images, tmp_path)
    command = [str(Path(sys.executable).with_name("st")), "--config-file", str(config), "run",
               f"{instances_engine.url}/openapi.json", "--checks", "all", "--mode", "all",
               "--max-examples", str(EXAMPLES), "--seed", "13", "--no-shrink", "--request-timeout", "60",
               "-H", f"Authorization: Bearer {instances_engine.token}", *(f"--exclude-path={p}" for p in ENDS_ENGINE)]
    started = time.monotonic()
    result = subprocess.run(command, capture_output=True, text=True, timeout=RUN_LIMIT, cwd=tmp_path, check=False)
    output = result.stdout + result.stderr
    summary = output[output.find("SUMMARY"):] if "SUMMARY" in output else output[-4000:]
    assert result.returncode == 0, output[-12000:]
    selected = re.search(r"Selected: (\d+)/(\d+)", summary)
    tested = re.search(r"Tested: (\d+)", summary)
    # Every operation but the two that stop the engine (see above), and every selected one tested.
    assert selected and tested and selected[1] == tested[1], summary
    assert int(selected[2]) - int(selected[1]) == len(ENDS_ENGINE), summary
    assert "Traceback" not in instances_engine.log_tail(), instances_engine.log_tail()
    print(f"schemathesis: {summary.splitlines()[-1].strip('= ')} in {time.monotonic() - started:.1f} s")
