/**
 * Python identifiers for layer names: `layer1.0.conv1` becomes the submodule
 * (and local variable) `layer1_0_conv1`; names that would shadow a keyword,
 * something model.py uses, or an `nn.Module` attribute get a trailing `_`.
 */
const RESERVED = new Set([
  // Python keywords and the names model.py itself uses.
  ...'False None True and as assert async await break class continue def del elif else except finally for from global if import in is lambda nonlocal not or pass raise return try while with yield'.split(' '),
  ...'x self torch nn F json struct os math float int len list dict range super print'.split(' '),
  // nn.Module attributes a submodule must not replace.
  ...'training forward apply train eval to cpu cuda half double type state_dict load_state_dict parameters buffers children modules named_parameters named_buffers named_children named_modules zero_grad register_buffer register_parameter add_module get_submodule requires_grad_ extra_repr load'.split(' '),
]);

export class PythonNames {
  private readonly taken = new Set<string>();

  /** A unique identifier for `name`. */
  identifier(name: string): string {
    let base = name.replace(/[^A-Za-z0-9_]/g, '_');
    if (base === '' || /^[0-9]/.test(base)) base = `_${base}`;
    if (RESERVED.has(base)) base = `${base}_`;
    let id = base;
    for (let n = 1; this.taken.has(id); n++) id = `${base}_${n}`;
    this.taken.add(id);
    return id;
  }
}

/** A JavaScript number as a Python float literal (`6.0`, `0.001`, `1e-05`). */
export function pyFloat(v: number): string {
  const s = String(v);
  return /[.eE]/.test(s) ? s : `${s}.0`;
}

/** A tuple literal: `(3, 3)`. */
export function pyTuple(values: readonly number[]): string {
  return values.length === 1 ? `(${values[0]},)` : `(${values.join(', ')})`;
}
