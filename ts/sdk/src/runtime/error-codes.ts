/**
 * Error codes returned by the kernels' C ABI; twin of
 * `crates/kernels/src/error.rs` (keep the numbers in step).
 */
export const ErrorCode = {
  Ok: 0,
  InvalidGeometry: 1,
  InvalidPointer: 2,
  Busy: 3,
  WorkerFault: 4,
  PoolError: 5,
  OutOfMemory: 6,
  InvalidValue: 7,
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

const names = new Map<number, string>(Object.entries(ErrorCode).map(([k, v]) => [v, k]));

export function errorCodeName(code: number): string {
  return names.get(code) ?? `unknown error code ${code}`;
}
