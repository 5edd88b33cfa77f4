// Types of scripts/build-bundles.mjs, for the TypeScript that imports it.
export declare function buildBundles(options?: { ifStale?: boolean }): Promise<void>;
export declare function buildWorkerBundle(outfile: string): Promise<void>;
