// A worker that ignores SIGTERM (so only SIGKILL stops it) and says when it is ready.
process.on('SIGTERM', () => console.log('ignoring SIGTERM'));
console.log('stubborn worker ready');
setInterval(() => {}, 1000);
