// The `schedkit` package entry point: the library (src/) and its Inversify
// composition layer (modules/). Explicit named exports live in each index.
export * from './src/index.js';
export * from './modules/index.js';
