/** Debian's postgresql package puts one directory per major version here, not on PATH. */
export declare const DEBIAN_ROOT: string;
/** The directory holding `initdb` and `postgres` (highest Debian major first, then PATH); null when there is none. */
export declare function findPostgresBin(): string | null;
/** What to tell someone who has no PostgreSQL server binaries. */
export declare const INSTALL_HINT: string;
