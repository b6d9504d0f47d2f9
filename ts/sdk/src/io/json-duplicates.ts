/**
 * Finding duplicate keys in a JSON text. JSON.parse keeps the last of two equal
 * keys without a word, while other parsers keep the first or reject the text;
 * in a model file a tensor name given twice means two readers may load
 * different tensors from the same bytes, so the loader must see it.
 */
import { ModelFormatError } from '../errors.js';

/** A key that occurs twice in one object; `path` holds the keys of the enclosing objects. */
export interface DuplicateKey {
  key: string;
  path: string[];
}

interface Frame {
  /** Keys seen so far; undefined for an array. */
  keys: Set<string> | undefined;
  /** The key whose value is being read (objects only): names this frame's children. */
  current: string | undefined;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * Returns the first duplicate key of any object in `text`, or undefined.
 * `text` must already have been accepted by JSON.parse: values are skipped,
 * not validated. Keys are compared after unescaping (`"a"` equals `"\u0061"`),
 * as JSON.parse compares them. Iterative, so deep nesting cannot overflow the stack.
 */
export function findDuplicateKey(text: string): DuplicateKey | undefined {
  const stack: Frame[] = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const start = i;
      let escaped = false;
      for (i++; text.charCodeAt(i) !== QUOTE; i++) {
        if (text.charCodeAt(i) === BACKSLASH) {
          escaped = true;
          i++;
        }
      }
      const top = stack[stack.length - 1];
      if (expectKey && top?.keys !== undefined) {
        // Only escaped keys need JSON's unescaping; slicing the others is much faster on huge headers.
        const key = escaped ? (JSON.parse(text.slice(start, i + 1)) as string) : text.slice(start + 1, i);
        if (top.keys.has(key)) return { key, path: pathOf(stack) };
        top.keys.add(key);
        top.current = key;
        expectKey = false;
      }
    } else if (c === 0x7b /* { */) {
      stack.push({ keys: new Set(), current: undefined });
      expectKey = true;
    } else if (c === 0x5b /* [ */) {
      stack.push({ keys: undefined, current: undefined });
      expectKey = false;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
      expectKey = false;
    } else if (c === 0x2c /* , */) {
      expectKey = stack[stack.length - 1]?.keys !== undefined;
    }
  }
  return undefined;
}

function pathOf(stack: Frame[]): string[] {
  return stack.slice(0, -1).map((f) => (f.keys === undefined ? '[]' : (f.current ?? '')));
}

/**
 * `text` parsed as JSON, refusing a key given twice in any object: the
 * errors name the file and the entry (e.g. `m.safetensors`, `__metadata__
 * topology`) and, for a duplicate, the path of objects down to it.
 */
export function parseJsonWithoutDuplicates(text: string, file: string, entry: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new ModelFormatError(`${file}: ${entry} is not valid JSON`, { cause });
  }
  const duplicate = findDuplicateKey(text);
  if (duplicate !== undefined) {
    throw new ModelFormatError(`${file}: duplicate key ${JSON.stringify(duplicate.key.slice(0, 80))} in ${[entry, ...duplicate.path].join(' > ')}; expected each key once`);
  }
  return value;
}
