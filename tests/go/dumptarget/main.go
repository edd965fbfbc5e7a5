// dumptarget: a Go program that drives goroutines into known states and stays there, for
// comparing `gohang dump` with the runtime's own SIGQUIT traceback of the same process.
//
// Each state is one goroutine started from main, in a function named after what it waits
// on (main.waitChanRecv, main.waitMutex, ...), so a test can find it in both views:
// channel receive (through an inlined helper), select, sync.Mutex, sync.RWMutex (a reader
// and a writer), sync.WaitGroup, sleep, a read on a loopback TCP connection whose peer (a
// 127.0.0.1 listener inside this program) never writes, the listener's own Accept, a pipe
// read inside a raw read(2), exec.Cmd.Wait on a child `sleep`, pprof labels, a generic
// type's method and a generic function, a goroutine locked to its OS thread, a recursion
// deeper than 100 frames (the traceback elides the middle), -parked N more goroutines on
// one channel, and one goroutine that spins (-spin=false to leave it out).
//
// Once every goroutine is where it should be it prints "ready PID" on stdout (with
// -ready). It exits by itself after -timeout, killing its child first; the child also gets
// SIGKILL when this program's thread that started it dies (Pdeathsig) and shares its
// process group, so a test that kills the group leaves nothing behind.
//
// -work N leaves out the spinning goroutine; once ready, a line on stdin starts N rounds of
// the spinning goroutine's computation on a new goroutine, whose nanoseconds are printed on
// stdout before the program exits (benchmarks measure how much an observer slows it down).
//
// With Go 1.27 (generic_method_go127.go) one more goroutine waits in a method with type
// parameters of its own, and -leak runs its leak detector so that some turn "(leaked)".
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"sync"
	"syscall"
	"time"
)

var (
	parked  = flag.Int("parked", 0, "start this many more goroutines parked on one channel")
	depth   = flag.Int("depth", 150, "frames of recursion before the deep goroutine blocks")
	spin    = flag.Bool("spin", true, "start one goroutine that never blocks")
	work    = flag.Int("work", 0, "spin this many rounds, print the nanoseconds taken, exit")
	ready   = flag.Bool("ready", true, "print \"ready PID\" once every goroutine waits")
	leak    = flag.Bool("leak", false, "run Go 1.27's leak-detection GC once all wait (leak_go127.go)")
	timeout = flag.Duration("timeout", 5*time.Minute, "exit after this long")
)

// extraWaits start more waiting goroutines from files built only by some Go releases; each
// calls started.Done once.
var extraWaits []func()

// detectLeaks is set where the Go release has a goroutine leak detector (leak_go127.go).
var detectLeaks func()

// never is closed by nobody: every goroutine waiting on it stays.
var never = make(chan int)

// sink keeps the spinning goroutine's work from being optimized away.
var sink uint64

// started counts goroutines that reached (or are about to reach) their wait.
var started sync.WaitGroup

// inlinedRecv is small enough to be inlined into waitChanRecv: the traceback shows it as
// an inlined frame (no +0x) above its caller.
func inlinedRecv(c chan int) int {
	return <-c
}

//go:noinline
func waitChanRecv(c chan int) {
	started.Done()
	v := inlinedRecv(c)
	sink += uint64(v)
}

//go:noinline
func waitSelect(a, b chan int) {
	started.Done()
	select {
	case v := <-a:
		sink += uint64(v)
	case v := <-b:
		sink += uint64(v)
	}
}

//go:noinline
func waitMutex(mu *sync.Mutex) {
	started.Done()
	mu.Lock()
	sink++
	mu.Unlock()
}

//go:noinline
func waitRLock(rw *sync.RWMutex) {
	started.Done()
	rw.RLock()
	sink++
	rw.RUnlock()
}

//go:noinline
func waitWLock(rw *sync.RWMutex) {
	started.Done()
	rw.Lock()
	sink++
	rw.Unlock()
}

//go:noinline
func waitWaitGroup(wg *sync.WaitGroup) {
	started.Done()
	wg.Wait()
}

//go:noinline
func waitSleep() {
	started.Done()
	time.Sleep(24 * time.Hour)
}

// waitTCPRead reads from a loopback connection whose peer never writes (IO wait).
//
//go:noinline
func waitTCPRead(c net.Conn) {
	started.Done()
	buf := make([]byte, 64)
	n, _ := c.Read(buf)
	sink += uint64(n)
}

// waitAccept waits in Accept after the one connection it took (IO wait in the listener).
//
//go:noinline
func waitAccept(ln net.Listener, held chan<- net.Conn) {
	c, err := ln.Accept()
	if err != nil {
		fail("accept: %v", err)
	}
	held <- c
	started.Done()
	c2, err := ln.Accept()
	if err == nil {
		c2.Close()
	}
}

// waitPipeRead reads a pipe with read(2) itself, outside the poller: the goroutine stays
// in a system call (status "syscall").
//
//go:noinline
func waitPipeRead(fd int) {
	started.Done()
	buf := make([]byte, 64)
	n, _ := syscall.Read(fd, buf)
	sink += uint64(n)
}

//go:noinline
func waitChild(cmd *exec.Cmd) {
	started.Done()
	_ = cmd.Wait()
}

//go:noinline
func waitLabeled(c chan int) {
	labels := pprof.Labels("job", "worker 1", "k", "v")
	pprof.Do(context.Background(), labels, func(context.Context) {
		started.Done()
		sink += uint64(<-c)
	})
}

// Box has a method that waits: the traceback names it main.(*Box[...]).Wait.
type Box[T any] struct{ v T }

//go:noinline
func (b *Box[T]) Wait(c chan T) T {
	started.Done()
	b.v = <-c
	return b.v
}

//go:noinline
func waitGeneric[T any](c chan T) T {
	started.Done()
	return <-c
}

//go:noinline
func waitLocked(c chan int) {
	runtime.LockOSThread()
	started.Done()
	sink += uint64(<-c)
}

//go:noinline
func recurse(n int, c chan int) int {
	if n == 0 {
		started.Done()
		return <-c
	}
	return recurse(n-1, c) + 1
}

//go:noinline
func waitParked(c chan int) {
	sink += uint64(<-c)
}

//go:noinline
func spinRound(i uint64) uint64 {
	x := i
	for j := 0; j < 1000; j++ {
		x = x*6364136223846793005 + 1442695040888963407
	}
	return x
}

//go:noinline
func spinForever() {
	started.Done()
	for i := uint64(0); ; i++ {
		sink += spinRound(i)
	}
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "dumptarget: "+format+"\n", args...)
	os.Exit(1)
}

func main() {
	flag.Parse()

	// The child is started first, from a thread that stays: main's goroutine is locked to
	// it until exit, so Pdeathsig (tied to the starting thread) fires only when we die.
	runtime.LockOSThread()
	child := exec.Command("sleep", "3600")
	child.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := child.Start(); err != nil {
		fail("starting sleep: %v", err)
	}
	defer child.Process.Kill()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fail("listen: %v", err)
	}
	var pfd [2]int
	if err := syscall.Pipe(pfd[:]); err != nil {
		fail("pipe: %v", err)
	}

	var mu sync.Mutex
	mu.Lock()
	var rwHeld, rwRead sync.RWMutex
	rwHeld.Lock()
	rwRead.RLock()
	var wg sync.WaitGroup
	wg.Add(1)

	const n = 16
	started.Add(n)
	go waitChanRecv(never)
	go waitSelect(never, make(chan int))
	go waitMutex(&mu)
	go waitRLock(&rwHeld)
	go waitWLock(&rwRead)
	go waitWaitGroup(&wg)
	go waitSleep()
	held := make(chan net.Conn, 1)
	go waitAccept(ln, held)
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		fail("dial: %v", err)
	}
	go waitTCPRead(conn)
	go waitPipeRead(pfd[0])
	go waitChild(child)
	go waitLabeled(never)
	box := &Box[string]{}
	go box.Wait(make(chan string))
	go waitGeneric(make(chan float64))
	go waitLocked(never)
	go recurse(*depth, never)
	for _, start := range extraWaits {
		started.Add(1)
		start()
	}
	if *spin && *work == 0 {
		started.Add(1)
		go spinForever()
	}
	for i := 0; i < *parked; i++ {
		go waitParked(never)
	}
	started.Wait()
	waitSettled(2*time.Minute, n+len(extraWaits)+*parked)
	if *leak {
		if detectLeaks == nil {
			fail("-leak needs Go 1.27 or later")
		}
		detectLeaks()
	}

	// The GC workers start with the first collection: start them now, then switch the
	// collector off (periodic forced GCs too), so that no goroutine is created and none
	// changes state between two views of this process taken a moment apart.
	runtime.GC()
	debug.SetGCPercent(-1)

	if *ready {
		fmt.Printf("ready %d\n", os.Getpid())
	}
	if *work > 0 {
		runWork(*work)
		return
	}
	time.Sleep(*timeout)
	<-held // keeps the accepted connection (and its peer's read) alive until here
}

// waitSettled polls the runtime's own traceback until every goroutine started in main,
// but the spinning one, is blocked: counted from the goroutine headers, a goroutine whose
// stack holds one of main's wait functions and whose status is neither runnable nor
// running.
func waitSettled(limit time.Duration, want int) {
	deadline := time.Now().Add(limit)
	buf := make([]byte, 1<<20)
	for {
		for {
			n := runtime.Stack(buf, true)
			if n < len(buf) {
				buf = buf[:n]
				break
			}
			buf = make([]byte, 2*len(buf))
		}
		if blockedOfMain(string(buf)) >= want {
			return
		}
		if time.Now().After(deadline) {
			fail("goroutines did not settle in %v:\n%s", limit, buf)
		}
		buf = buf[:cap(buf)]
		time.Sleep(10 * time.Millisecond)
	}
}

func blockedOfMain(dump string) int {
	count := 0
	for _, g := range strings.Split(dump, "\n\n") {
		header, _, _ := strings.Cut(g, "\n")
		if strings.Contains(header, "[running") || strings.Contains(header, "[runnable") {
			continue
		}
		for _, f := range []string{"main.wait", "main.recurse", "main.(*Box["} {
			if strings.Contains(g, "\n"+f) {
				count++
				break
			}
		}
	}
	return count
}

// runWork waits for a line on stdin, then times -work rounds of the spinning loop on a
// goroutine of its own, prints the nanoseconds and returns (and main exits). The timeout
// still applies.
func runWork(rounds int) {
	go func() {
		time.Sleep(*timeout)
		fail("timed out waiting for a line on stdin")
	}()
	var line string
	fmt.Scanln(&line)
	done := make(chan time.Duration)
	go func() {
		t0 := time.Now()
		for i := 0; i < rounds; i++ {
			sink += spinRound(uint64(i))
		}
		done <- time.Since(t0)
	}()
	fmt.Println((<-done).Nanoseconds())
}
