/** Types of make-placeholder-model.mjs (for the TypeScript tests). */
import type { Engine } from '@lite-cnn/sdk';
export declare const DEFAULT_PLACEHOLDER: string;
export declare function makePlaceholderModel(opts?: { steps?: number; engine?: Engine }): Promise<Uint8Array>;
