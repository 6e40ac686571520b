// Every test of server.test.ts again, its servers started with num.io.threads 2: the sockets are
// the network thread's (network-worker.ts), so framing, limits, flow control, idle closing and
// stop are checked across the thread boundary too. node:test runs each file in its own process,
// so the setting reaches only this file's import.

process.env.BROOK_TEST_SERVER_IO_THREADS = '2';
await import('./server.test.js');
