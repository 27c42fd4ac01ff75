// An engine that never becomes ready (stands for one still loading a large config): it ignores the
// contract and just runs, so a test can catch a supervisor while its engine is starting.
setInterval(() => {}, 1e6);
