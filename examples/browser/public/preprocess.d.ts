/** Types of preprocess.js (for TypeScript users and the tests). */
export declare function rgbaToChannels(rgba: ArrayLike<number>, channels: 1 | 3): Uint8Array;
