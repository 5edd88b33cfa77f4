// The release this code is (package.json "version"; a test keeps the two equal): metrics' build info.
export const LIFEBOAT_VERSION = '0.1.0';
