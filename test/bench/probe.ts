/**
 * Preloaded (node --import) into the built CLI for the footprint runs only: answers a memory
 * request over the IPC channel the runner opened. It adds one listener and nothing else.
 */
process.on('message', (m: { cmd?: string }) => {
  if (m?.cmd === 'memory') process.send?.({ cmd: 'memory', ...process.memoryUsage() });
});
