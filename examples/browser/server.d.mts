/** Types of server.mjs (for the TypeScript tests). */
export declare const PUBLIC_DIR: string;
export declare const SDK_DIR: string;
export declare const ISOLATION_HEADERS: Readonly<Record<string, string>>;
export interface ExampleServer {
  url: string;
  port: number;
  close(): Promise<void>;
}
export declare function startExampleServer(opts?: { port?: number; host?: string; isolated?: boolean; root?: string; log?: (line: string) => void }): Promise<ExampleServer>;
