#!/usr/bin/env python3
"""Runs onnx.checker.check_model (with full_check: shape inference too) on each
ONNX file given and prints {path: error} for the failures as JSON ({} when all
pass). Used by ts/sdk/test/onnx-export.test.ts.

usage: check_models.py FILE...
"""
import json
import sys

import onnx


def main() -> None:
    failures = {}
    for path in sys.argv[1:]:
        try:
            onnx.checker.check_model(onnx.load(path), full_check=True)
        except Exception as e:  # the checker's own error types vary by version
            failures[path] = f"{type(e).__name__}: {e}"
    print(json.dumps(failures))


if __name__ == "__main__":
    main()
