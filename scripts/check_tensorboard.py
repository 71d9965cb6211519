#!/usr/bin/env python3
"""Dev-time check: a run directory's TensorBoard event files load in the `tensorboard` package, and its
curves.svg is well-formed XML (runlog/tensorboard.h, runlog/curves.h). aha itself never needs Python.

Loads RUN_DIR's events.out.tfevents.* twice: with the legacy EventAccumulator (Scalars) and with the
plugin_event_accumulator the scalars dashboard uses (simple_value migrated to tensors by data_compat); both
read through TensorBoard's TFRecord reader, which rejects a bad length or data CRC. Prints every scalar
tag with its count and first/last point. When RUN_DIR/metrics.jsonl exists, every numeric metric must
match its scalar (as float32) at the same step. Then parses RUN_DIR/curves.svg with xml.etree.

  ~/.cache/aha/venv/bin/pip install tensorboard
  ~/.cache/aha/venv/bin/python scripts/check_tensorboard.py runs/<name>
"""
import glob
import json
import math
import os
import struct
import sys
import xml.etree.ElementTree as ET

from tensorboard.backend.event_processing import event_accumulator, plugin_event_accumulator
from tensorboard.util import tensor_util

SVG = "{http://www.w3.org/2000/svg}"


def as_float32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


def check_events(run_dir):
    files = sorted(glob.glob(os.path.join(run_dir, "events.out.tfevents.*")))
    if not files:
        sys.exit(f"{run_dir}: no events.out.tfevents.* file")
    for f in files:
        print(f"event file {os.path.basename(f)}: {os.path.getsize(f)} bytes")

    legacy = event_accumulator.EventAccumulator(run_dir, size_guidance={event_accumulator.SCALARS: 0})
    legacy.Reload()
    print(f"file_version: {legacy.file_version}")
    assert legacy.file_version == 2.0, legacy.file_version
    scalars = {tag: legacy.Scalars(tag) for tag in legacy.Tags()["scalars"]}
    assert scalars, "no scalar tags"
    for tag, events in sorted(scalars.items()):
        first, last = events[0], events[-1]
        print(f"  {tag:<28} {len(events):>5} points  step {first.step}: {first.value:.6g}"
              f"  ...  step {last.step}: {last.value:.6g}")

    plugin = plugin_event_accumulator.EventAccumulator(run_dir, size_guidance={plugin_event_accumulator.TENSORS: 0})
    plugin.Reload()
    plugin_tags = plugin.PluginTagToContent("scalars")
    assert set(plugin_tags) == set(scalars), (sorted(plugin_tags), sorted(scalars))
    for tag, events in scalars.items():
        tensors = plugin.Tensors(tag)
        assert [t.step for t in tensors] == [e.step for e in events], tag
        assert [float(tensor_util.make_ndarray(t.tensor_proto)) for t in tensors] == [e.value for e in events], tag
    print(f"scalars dashboard (plugin_event_accumulator): {len(plugin_tags)} tags, same steps and values")

    metrics = os.path.join(run_dir, "metrics.jsonl")
    if os.path.exists(metrics):
        compared = 0
        by_tag_step = {tag: {e.step: e.value for e in events} for tag, events in scalars.items()}
        with open(metrics) as f:
            for line in f:
                row = json.loads(line)
                for key, value in row.items():
                    if key == "step" or isinstance(value, bool) or not isinstance(value, (int, float)):
                        continue
                    got = by_tag_step[key][row["step"]]
                    want = as_float32(value)
                    assert got == want or (math.isnan(got) and math.isnan(want)), (key, row["step"], got, want)
                    compared += 1
        print(f"metrics.jsonl: {compared} numeric values equal their TensorBoard scalars (as float32)")


def check_svg(run_dir):
    path = os.path.join(run_dir, "curves.svg")
    if not os.path.exists(path):
        print(f"{path}: absent, skipped")
        return
    root = ET.parse(path).getroot()
    assert root.tag == SVG + "svg", root.tag
    panels = root.findall(SVG + "g")
    print(f"curves.svg: well-formed, viewBox {root.get('viewBox')!r}, {len(panels)} panels")
    for g in panels:
        texts = ["".join(t.itertext()) for t in g.iter(SVG + "text")]
        paths = len(list(g.iter(SVG + "path")))
        circles = len(list(g.iter(SVG + "circle")))
        status = "no data" if "no data" in texts else f"{paths} paths, {circles} circles"
        print(f"  {texts[0]:<26} {status}")


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    check_events(sys.argv[1])
    check_svg(sys.argv[1])
    print("OK")


if __name__ == "__main__":
    main()
