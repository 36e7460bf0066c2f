/**
 * Sizes libuv's thread pool before anything uses it. Every spool write, fsync and rename runs there; with the
 * default 4, concurrent sessions' fsyncs queue behind each other; many more threads only add context switches on
 * a small machine (measured with 20 writers on 2 cores). Imported first by main.ts.
 */
process.env.UV_THREADPOOL_SIZE ??= '8';
