//go:build race

package main

import "time"

// stopLimit is how long a live run may take to stop after SIGINT in the
// tests: the race detector makes the run several times slower, and CI runs
// the other packages' tests beside it.
const stopLimit = 3 * time.Second
