//go:build go1.27

package main

import (
	"io"
	"runtime/pprof"
)

// With -leak, the goroutineleak profile (always available from Go 1.27) runs its
// leak-detection GC once everything waits: goroutines blocked on channels nothing else can
// reach (the generic ones' and the select's second channel) turn _Gleaked, and the
// traceback prints them "chan receive (leaked)" until the next such GC.
func init() {
	detectLeaks = func() {
		if err := pprof.Lookup("goroutineleak").WriteTo(io.Discard, 1); err != nil {
			fail("goroutineleak profile: %v", err)
		}
	}
}
