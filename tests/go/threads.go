// threads: a Go program with a dozen OS threads that all wait: eleven goroutines each
// locked to its own thread and blocked, plus the runtime's own threads.
package main

import (
	"fmt"
	"os"
	"runtime"
	"sync"
	"time"
)

func main() {
	var ready sync.WaitGroup
	block := make(chan struct{})
	for i := 0; i < 11; i++ {
		ready.Add(1)
		go func() {
			runtime.LockOSThread()
			ready.Done()
			<-block
		}()
	}
	ready.Wait()
	fmt.Fprintln(os.Stderr, "threads: ready")
	// A sleeping main goroutine keeps the runtime from declaring a deadlock.
	time.Sleep(time.Hour)
	close(block)
}
