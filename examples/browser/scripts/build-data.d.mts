/** Types of build-data.mjs (for the TypeScript tests). */
export declare const DATA_DIR: string;
export declare const SUBSET: { train: number; test: number };
export declare function dataFiles(dir?: string): string[];
export declare function idxHead(bytes: Uint8Array, count: number): Uint8Array;
export declare function buildData(opts?: { dir?: string; force?: boolean; log?: (line: string) => void }): string[];
