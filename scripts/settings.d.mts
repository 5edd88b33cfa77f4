// Types of scripts/settings.mjs (the server's settings table), for the TypeScript that imports it.
export declare const SERVER_SETTINGS: readonly (readonly [name: string, meaning: string, dflt: string])[];
export declare const LOCAL_RUNNER_SETTINGS: readonly (readonly [name: string, meaning: string, dflt: string])[];
export declare function defaultServerConfig(platform: string): string;
export declare function settingsHelp(platform: string): string;
