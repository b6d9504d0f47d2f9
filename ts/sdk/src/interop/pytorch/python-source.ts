/**
 * The text of the generated `model.py`: a readable `nn.Module` (one
 * submodule per layer with weights, named after it), `load()`, and a
 * safetensors reader that needs nothing but torch.
 */
import type { ModelMetadata } from '../../model/metadata.js';
import { pyTuple } from './python-names.js';

export interface PythonSourceParts {
  modelName: string;
  /** `(c, h, w)` or `(n,)` for flat inputs. */
  inputShape: readonly number[];
  outputDescription: string;
  metadata: ModelMetadata;
  submodules: readonly string[];
  forward: readonly string[];
  output: string;
}

const indent = (lines: readonly string[], spaces: number) => lines.map((l) => `${' '.repeat(spaces)}${l}`).join('\n');

export function pythonSource(p: PythonSourceParts): string {
  // A JSON string literal is a valid Python string literal (JSON.stringify emits no escapes Python lacks).
  const metadata = JSON.stringify(JSON.stringify(p.metadata));
  const input = p.inputShape.length === 1 ? `[batch, ${p.inputShape[0]}]` : `[batch, ${p.inputShape.join(', ')}] (NCHW)`;
  return `"""${p.modelName}: a lite-cnn model exported as a PyTorch module.

Input: float32 ${input}, preprocessed as METADATA["preprocessing"] says (the
module computes the network only, like lite-cnn's model.predict with
calibrated: false; a stored probability calibration is METADATA["calibration"]).
Output: ${p.outputDescription}.

    from model import load
    net = load()          # the module with its weights, in eval mode
    y = net(x)

Needs only torch: model.safetensors (PyTorch names and layouts) is read with the
safetensors package when it is installed, else by read_safetensors below.
"""
import json
import struct
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

INPUT_SHAPE = ${pyTuple(p.inputShape)}
METADATA = json.loads(${metadata})
WEIGHTS = Path(__file__).with_name("model.safetensors")


class Model(nn.Module):
    def __init__(self):
        super().__init__()
${indent(p.submodules, 8)}

    def forward(self, x):
${indent(p.forward, 8)}
        return ${p.output}


_DTYPES = {"F32": torch.float32, "I64": torch.int64}


def read_safetensors(path):
    """The tensors of a safetensors file (little-endian F32 and I64), without the safetensors package."""
    data = Path(path).read_bytes()
    (size,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + size])
    body = 8 + size
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        flat = torch.frombuffer(bytearray(data[body + begin : body + end]), dtype=_DTYPES[info["dtype"]])
        tensors[name] = flat.reshape(info["shape"])
    return tensors


def load(path=WEIGHTS):
    """The module with its weights, in eval mode (call .train() to fine-tune it)."""
    try:
        from safetensors.torch import load_file
    except ImportError:
        load_file = read_safetensors
    model = Model()
    model.load_state_dict(load_file(str(path)))
    return model.eval()
`;
}
