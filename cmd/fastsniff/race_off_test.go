//go:build !race

package main

import "time"

// stopLimit is how long a live run may take to stop after SIGINT in the
// tests (about 0.2 s here: a poll timeout, the last block, the outputs).
const stopLimit = time.Second
