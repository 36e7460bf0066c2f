/**
 * Sizes libuv's thread pool before anything uses it. Every spool write, fsync and rename runs there; with the
 * default 4 threads, 20 sessions' fsyncs would queue behind each other. Imported first by main.ts.
 */
process.env.UV_THREADPOOL_SIZE ??= '32';
