// A program that parks goroutines in known states and waits to be read by
// `gohang dump` (tests/gomem.rs): a channel receive, an inlined call, a locked
// thread, a mutex, a sleep, a generic method, pprof labels and a deep recursion.
package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"sync"
	"time"
)

//go:noinline
func parkChan(ch chan int) { <-ch }

func inlinedHelper(ch chan int) { <-ch }

//go:noinline
func callsInlined(ch chan int) { inlinedHelper(ch) }

func recurse(n int, ch chan int) int {
	if n == 0 {
		<-ch
		return 0
	}
	return recurse(n-1, ch) + 1
}

type Box[T any] struct{ v T }

//go:noinline
func (b *Box[T]) Wait(ch chan int) { <-ch }

//go:noinline
func parkLocked(ch chan int) {
	runtime.LockOSThread()
	<-ch
}

//go:noinline
func parkMutex(mu *sync.Mutex) { mu.Lock() }

//go:noinline
func parkSleep() { time.Sleep(time.Hour) }

// churn keeps goroutines running, parking and growing their stacks, so that a reader
// races with them (the "busy" argument).
func churn() {
	for i := 0; i < 4; i++ {
		a, b := make(chan int), make(chan int)
		go func() {
			for v := range a {
				b <- v + 1
			}
		}()
		go func() {
			for n := 0; ; n++ {
				a <- n
				<-b
				if n%64 == 0 {
					grow(n % 200)
				}
			}
		}()
	}
}

//go:noinline
func grow(n int) int {
	var pad [256]byte
	if n == 0 {
		return int(pad[0])
	}
	return grow(n-1) + int(pad[n%256])
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "busy" {
		churn()
	}
	ch := make(chan int)
	var mu sync.Mutex
	mu.Lock()
	for i := 0; i < 3; i++ {
		go parkChan(ch)
	}
	go callsInlined(ch)
	go recurse(300, ch)
	go parkLocked(ch)
	go parkMutex(&mu)
	go parkSleep()
	go (&Box[int]{}).Wait(ch)
	go pprof.Do(context.Background(), pprof.Labels("job", "worker 1"), func(context.Context) { parkChan(ch) })
	time.Sleep(100 * time.Millisecond)
	fmt.Println("ready", os.Getpid())
	<-ch
}
